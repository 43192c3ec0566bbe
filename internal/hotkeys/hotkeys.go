// Package hotkeys finds the keys a node is asked for most: a sample of the
// reads and of the writes feeds two space-saving tables (Metwally, Agrawal
// and El Abbadi, 2005) of a fixed number of keys, so an operator finds the
// key that melts a node in bounded memory, at the cost of a random draw per
// command and, for one command in Rate, a scan of the table.
//
// Counts decay: every HalfLife they are halved, so a key hot an hour ago
// gives way to the keys hot now.
package hotkeys

import (
	"math/bits"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/shoal-cache/shoal/protocol"
)

const (
	// Capacity is how many keys a table counts; the top K of them are
	// reported. Space-saving finds every key whose share of the samples is
	// above 1/Capacity.
	Capacity = 64
	// K is how many keys of each table are reported.
	K = 10
	// DefaultRate samples one command in 64.
	DefaultRate = 64
	// HalfLife is how often the counts are halved.
	HalfLife = time.Minute
)

// Tracker samples reads and writes. A nil Tracker samples nothing.
type Tracker struct {
	mask          uint32 // a command is sampled when a random draw &mask is 0
	reads, writes table
	now           func() time.Time
}

// New returns a tracker sampling one command in rate (rounded up to a power
// of two; 1 samples every command, 0 means DefaultRate).
func New(rate int) *Tracker {
	if rate <= 0 {
		rate = DefaultRate
	}
	rate = min(rate, 1<<30)
	t := &Tracker{mask: uint32(1)<<bits.Len32(uint32(rate-1)) - 1, now: time.Now}
	t.Reset()
	return t
}

// Rate is one in how many commands are sampled.
func (t *Tracker) Rate() int { return int(t.mask) + 1 }

// Read counts a read of key, if sampled.
func (t *Tracker) Read(key []byte) {
	if t != nil && rand.Uint32()&t.mask == 0 {
		t.reads.add(key, t.now())
	}
}

// Write counts a write of key, if sampled.
func (t *Tracker) Write(key []byte) {
	if t != nil && rand.Uint32()&t.mask == 0 {
		t.writes.add(key, t.now())
	}
}

// Reset forgets every key (`stats reset`).
func (t *Tracker) Reset() {
	if t == nil {
		return
	}
	now := t.now()
	t.reads.reset(now)
	t.writes.reset(now)
}

// Entry is a hot key and its estimated requests: sampled count times the
// sampling rate, decayed. The true figure is at most Error below Count
// (and, for the sampling, about Count's square root off either way).
type Entry struct {
	Key          []byte
	Count, Error uint64
}

// Top returns the hottest K reads and writes, hottest first.
func (t *Tracker) Top() (reads, writes []Entry) {
	if t == nil {
		return nil, nil
	}
	now, rate := t.now(), uint64(t.Rate())
	return t.reads.top(now, rate), t.writes.top(now, rate)
}

// table is a space-saving summary: Capacity counters, each holding a key,
// its count and how much of the count may belong to keys it replaced.
type table struct {
	mu      sync.Mutex
	n       int
	slots   [Capacity]slot
	decayed time.Time
}

type slot struct {
	count, err uint64
	klen       uint8
	key        [protocol.MaxKeyLen]byte
}

func (s *slot) is(key []byte) bool {
	return int(s.klen) == len(key) && string(s.key[:s.klen]) == string(key)
}

func (t *table) reset(now time.Time) {
	t.mu.Lock()
	t.n, t.decayed = 0, now
	t.mu.Unlock()
}

func (t *table) add(key []byte, now time.Time) {
	if len(key) == 0 || len(key) > protocol.MaxKeyLen {
		return // refused by every command anyway
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.decay(now)
	least := 0
	for i := range t.n {
		s := &t.slots[i]
		if s.is(key) {
			s.count++
			return
		}
		if s.count < t.slots[least].count {
			least = i
		}
	}
	if t.n < Capacity {
		least, t.n = t.n, t.n+1
		t.slots[least].count = 0
	}
	s := &t.slots[least]
	s.err = s.count
	s.count++
	s.klen = uint8(copy(s.key[:], key))
}

// decay halves the counts once per HalfLife gone by, dropping the keys
// left at zero.
func (t *table) decay(now time.Time) {
	for now.Sub(t.decayed) >= HalfLife && t.n > 0 {
		t.decayed = t.decayed.Add(HalfLife)
		kept := 0
		for i := range t.n {
			s := t.slots[i]
			s.count, s.err = s.count/2, s.err/2
			if s.count > 0 {
				t.slots[kept] = s
				kept++
			}
		}
		t.n = kept
	}
	if t.n == 0 {
		t.decayed = now
	}
}

func (t *table) top(now time.Time, rate uint64) []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.decay(now)
	out := make([]Entry, 0, t.n)
	for i := range t.n {
		s := &t.slots[i]
		out = append(out, Entry{Key: append([]byte(nil), s.key[:s.klen]...), Count: s.count * rate, Error: s.err * rate})
	}
	sortEntries(out)
	return out[:min(K, len(out))]
}
