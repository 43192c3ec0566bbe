package store

import (
	"bytes"
	"fmt"
	"sync"
	"syscall"
)

// The index is sharded: a key's shard is the top bits of its 64-bit hash,
// and each shard is an open-addressing table of 8-byte slots, probed
// linearly from the key's home slot, so that a lookup reads one cache line
// of eight slots and seldom a second. A table of any size maps hashes to
// homes by multiplying (Lemire's fast range), so that it can grow by a
// quarter at a time and stay between 70% and 87.5% full: the index costs an
// item about 10 bytes. A slot holds all the index knows of
// an item: where it is (its arena offset), how often it was read since it
// was written or last merged (freq, which merge eviction ranks by), and
// the 20 hash bits just below the shard bits (tag), which both tell keys
// apart without reading them and give the home slot. The tables are
// mapped outside the Go heap, as the arena is, so the garbage collector
// never sees them. Deletion shifts the probe run back (no tombstones).
const (
	shardBits  = 6
	shardCount = 1 << shardBits

	tagBits  = 20
	freqBits = 8
	locBits  = 64 - tagBits - freqBits // 36: a 64 GB arena
	locMask  = 1<<locBits - 1
	freqMax  = 1<<freqBits - 1

	initialSlots = 1 << 10
	// tableUnit is what a table's size is a multiple of: a page of slots.
	tableUnit = 512
	// homeBits are the hash bits a home is drawn from once a table has
	// more slots than the tags can spread over.
	homeBits = 32
)

// loc is an item's offset in the arena; 0 is none (segment 0 is never used).
type loc uint64

type slot uint64

func makeSlot(tag uint32, freq uint8, r loc) slot {
	return slot(uint64(tag)<<(64-tagBits) | uint64(freq)<<locBits | uint64(r))
}
func (e slot) loc() loc    { return loc(e & locMask) }
func (e slot) tag() uint32 { return uint32(e >> (64 - tagBits)) }
func (e slot) freq() uint8 { return uint8(e >> locBits) }
func (e slot) withFreq(f uint8) slot {
	return e&^(freqMax<<locBits) | slot(f)<<locBits
}

func shardOf(h uint64) int  { return int(h >> (64 - shardBits)) }
func tagOf(h uint64) uint32 { return uint32(h>>(64-shardBits-tagBits)) & (1<<tagBits - 1) }

// shard is one part of the index, and the counters of the commands that
// took its lock (counters.go).
type shard struct {
	mu    sync.Mutex
	slots []slot // mapped outside the heap
	count int
	// hashKey is the store's hash, for tables too large for the tags.
	hashKey func([]byte) uint64
	shardCounters
	_ [64]byte
}

func newTable(n int) ([]slot, error) {
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_ANON|syscall.MAP_PRIVATE|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mapping a %d-slot index table: %w", n, err)
	}
	return unsafeSlots(b), nil
}

func freeTable(t []slot) {
	if t != nil {
		_ = syscall.Munmap(slotBytes(t))
	}
}

// home is the first slot a key of this hash probes: the hash bits below
// the shard's (the tag's, while the table has no more slots than tags),
// scaled to the table.
func (sh *shard) home(h uint64) int {
	n := uint64(len(sh.slots))
	if n <= 1<<tagBits {
		return int(uint64(tagOf(h)) * n >> tagBits)
	}
	return int((h << shardBits >> (64 - homeBits)) * n >> homeBits)
}

// slotHash is enough of the hash of e's key to find its home: the tag,
// unless the table has more slots than tags and the key must be hashed
// again.
func (sh *shard) slotHash(m items, e slot) uint64 {
	if len(sh.slots) <= 1<<tagBits {
		return uint64(e.tag()) << (64 - shardBits - tagBits)
	}
	return sh.hashKey(m.keyOf(e.loc()))
}

// next is the slot after i, round the table.
func (sh *shard) next(i int) int {
	if i++; i == len(sh.slots) {
		return 0
	}
	return i
}

// find returns the slot index of key's item, or -1.
func (sh *shard) find(m items, key []byte, h uint64) int {
	tag := tagOf(h)
	for i := sh.home(h); ; i = sh.next(i) {
		e := sh.slots[i]
		if e == 0 {
			return -1
		}
		if e.tag() == tag {
			r := e.loc()
			if m.klen(r) == len(key) && bytes.Equal(m.keyOf(r), key) {
				return i
			}
		}
	}
}

// findLoc returns the slot index that points at r, an item whose key
// hashes to h, or -1.
func (sh *shard) findLoc(r loc, h uint64) int {
	for i := sh.home(h); ; i = sh.next(i) {
		e := sh.slots[i]
		if e == 0 {
			return -1
		}
		if e.loc() == r {
			return i
		}
	}
}

// insert adds an item the shard does not index yet.
func (sh *shard) insert(m items, r loc, h uint64) error {
	if (sh.count+1)*8 > len(sh.slots)*7 {
		if err := sh.grow(m); err != nil {
			return err
		}
	}
	sh.place(makeSlot(tagOf(h), 0, r), h)
	sh.count++
	return nil
}

func (sh *shard) place(e slot, h uint64) {
	i := sh.home(h)
	for sh.slots[i] != 0 {
		i = sh.next(i)
	}
	sh.slots[i] = e
}

// remove empties slot i, shifting back the rest of its probe run so that
// every item stays reachable from its home.
func (sh *shard) remove(m items, i int) {
	sh.count--
	for j := sh.next(i); ; j = sh.next(j) {
		e := sh.slots[j]
		if e == 0 {
			break
		}
		k := sh.home(sh.slotHash(m, e))
		// e may fill the hole at i if its home is not in (i, j] cyclically.
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			sh.slots[i] = e
			i = j
		}
	}
	sh.slots[i] = 0
}

// grow makes the table a quarter larger.
func (sh *shard) grow(m items) error {
	old := sh.slots
	n := (len(old) + len(old)/4 + tableUnit - 1) / tableUnit * tableUnit
	t, err := newTable(n)
	if err != nil {
		return err
	}
	sh.slots = t
	for _, e := range old {
		if e != 0 {
			sh.place(e, sh.slotHash(m, e))
		}
	}
	freeTable(old)
	return nil
}
