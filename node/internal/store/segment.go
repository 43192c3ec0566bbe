package store

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"syscall"
)

// segSize is a segment's size: Segcache's 1 MB, memcached's slab page. An
// item larger than a segment gets a run of contiguous segments of its own.
const segSize = 1 << 20

// never is a segment's latest expiry when one of its items never expires.
const never = math.MaxUint32

// segment is one segment's bookkeeping, in the Go heap (a few dozen bytes a
// megabyte); its items are in the arena.
type segment struct {
	// guarded by Store.segMu
	bucket     int32  // TTL bucket, -1 when free
	run        int32  // segments it spans: 1, or more for a large item's run
	prev, next int32  // neighbours in its bucket's chain, oldest first; 0 none
	seq        uint64 // order of chaining, oldest lowest
	gen        uint32 // times it was taken, so that a walk can tell it was reused
	created    uint32 // clock second it was taken

	write  atomic.Uint32 // bytes written; items below it are readable
	maxExp atomic.Uint32 // latest expiry of its items, never for none
	pins   atomic.Int32  // items allocated in it not yet linked or cancelled
	live   atomic.Int64  // bytes of the items the index points at
}

// countLive adds n to the live bytes of r's segment.
func (s *Store) countLive(r loc, n int) { s.arena.segs[segOf(r)].live.Add(int64(n)) }

// ttlBucket is a chain of segments whose items expire in the same span of
// seconds, and the one of them items are appended to.
type ttlBucket struct {
	mu     sync.Mutex
	id     int32
	active int32 // segment appended to, 0 none; written under mu and Store.segMu
	// guarded by Store.segMu
	head, tail int32
	_          [36]byte
}

// TTL buckets, as Segcache's: 256 buckets of 8 seconds, then of 128, 2048
// and 32768 seconds, and one for items that never expire.
const (
	ttlBuckets  = 1024
	neverBucket = ttlBuckets
)

func bucketOf(exp, now uint32) int {
	if exp == 0 {
		return neverBucket
	}
	if exp <= now {
		return 0
	}
	ttl := exp - now
	switch {
	case ttl < 1<<11:
		return int(ttl >> 3)
	case ttl < 1<<15:
		return 256 + int(ttl>>7)
	case ttl < 1<<19:
		return 512 + int(ttl>>11)
	case ttl < 1<<23:
		return 768 + int(ttl>>15)
	}
	return ttlBuckets - 1
}

// arena is the memory of every segment: one anonymous mapping outside the
// Go heap, committed by the kernel only where it is written.
type arena struct {
	mem  []byte
	segs []segment // by id; segment 0 is never used, so that loc 0 is none

	// guarded by Store.segMu
	freeStack []int32  // freed segments, most recent last (may hold stale ids)
	free      []uint64 // bitmap of free segments below high
	high      int32    // segments ever handed out, and segment 0
	used      int      // segments in use
	limit     int      // segments the memory limit allows
}

// maxArena is the most an arena can address (locBits).
const maxArena = 1 << locBits

func newArena(segs int) (*arena, error) {
	if segs*segSize > maxArena {
		return nil, fmt.Errorf("memory limit %d MB above the %d MB a node can address", segs, maxArena>>20)
	}
	mem, err := syscall.Mmap(-1, 0, segs*segSize, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_ANON|syscall.MAP_PRIVATE|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("reserving %d MB for items: %w", segs, err)
	}
	a := &arena{mem: mem, segs: make([]segment, segs), free: make([]uint64, (segs+63)/64), high: 1}
	for i := range a.segs {
		a.segs[i].bucket = -1
	}
	return a, nil
}

func (a *arena) close() error {
	if a.mem == nil {
		return nil
	}
	err := syscall.Munmap(a.mem)
	a.mem = nil
	return err
}

func segOf(r loc) int32 { return int32(r >> 20) }

func (a *arena) isFree(id int32) bool { return a.free[id/64]&(1<<(id%64)) != 0 }
func (a *arena) setFree(id int32, f bool) {
	if f {
		a.free[id/64] |= 1 << (id % 64)
	} else {
		a.free[id/64] &^= 1 << (id % 64)
	}
}

// take hands out a run of n contiguous segments, or 0 when the limit (plus
// over, for an eviction's merge) or the address space has no room. segMu
// is held.
func (a *arena) take(n, over int) int32 {
	if a.used+n > a.limit+over {
		return 0
	}
	id := a.findRun(n)
	if id == 0 {
		return 0
	}
	for i := id; i < id+int32(n); i++ {
		a.setFree(i, false)
	}
	a.high = max(a.high, id+int32(n))
	a.used += n
	sg := &a.segs[id]
	sg.run = int32(n)
	sg.gen++
	sg.write.Store(0)
	sg.maxExp.Store(0)
	sg.live.Store(0)
	return id
}

// findRun finds n free segments in a row: a freed one for a single
// segment, else the first free run, else fresh ones. segMu is held.
func (a *arena) findRun(n int) int32 {
	if n == 1 {
		for len(a.freeStack) > 0 {
			id := a.freeStack[len(a.freeStack)-1]
			a.freeStack = a.freeStack[:len(a.freeStack)-1]
			if a.isFree(id) {
				return id
			}
		}
	}
	start, length := int32(0), 0
	for id := int32(1); id < a.high; id++ {
		if !a.isFree(id) {
			length = 0
			continue
		}
		if length == 0 {
			start = id
		}
		if length++; length == n {
			return start
		}
	}
	if length == 0 {
		start = a.high
	}
	if int(start)+n > len(a.segs) {
		return 0
	}
	return start
}

// release frees a segment and the rest of its run. A large item's run,
// unlikely to be reused as a whole, and segments above a lowered limit
// are given back to the kernel. segMu is held.
func (a *arena) release(id int32) {
	sg := &a.segs[id]
	n := sg.run
	for i := id; i < id+n; i++ {
		a.setFree(i, true)
		a.segs[i].bucket = -1
		a.freeStack = append(a.freeStack, i)
	}
	a.used -= int(n)
	if n > 1 || a.used > a.limit {
		_ = syscall.Madvise(a.mem[int(id)*segSize:int(id+n)*segSize], syscall.MADV_DONTNEED)
	}
	sg.run = 1
}

// raiseExp makes sure segment id's latest expiry covers exp.
func (sg *segment) raiseExp(exp uint32) {
	if exp == 0 {
		exp = never
	}
	for {
		cur := sg.maxExp.Load()
		if cur >= exp || sg.maxExp.CompareAndSwap(cur, exp) {
			return
		}
	}
}

// chained reports whether segment id holds items (it is in a chain), and
// the generation it is in. evictMu is held, so that it stays so.
func (s *Store) chained(id int32) (gen uint32, ok bool) {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	sg := &s.arena.segs[id]
	return sg.gen, sg.bucket >= 0 && !s.arena.isFree(id)
}
