package store

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// TestOverwritesReuseSegments: a cache whose items are replaced again and
// again keeps to about its live bytes, not to its memory limit: before the
// arena takes a segment it never used, it compacts segments mostly of dead
// copies. Every value read back is the last one written, and nothing is
// evicted (the live items are far below the limit).
func TestOverwritesReuseSegments(t *testing.T) {
	s := newTestStore(t, 256)
	const keys, rounds = 1000, 30 // 4 MB live, 120 MB written
	value := func(k, round int) string {
		return fmt.Sprintf("%04d-%02d-", k, round) + strings.Repeat("v", 4000)
	}
	for round := range rounds {
		for k := range keys {
			put(t, s, ModeSet, fmt.Sprint("key:", k), value(k, round), 0)
		}
	}
	for k := range keys {
		if got, _, ok := get(s, fmt.Sprint("key:", k)); !ok || got != value(k, rounds-1) {
			t.Fatalf("key:%d read %.12q (found %v); want the last value written", k, got, ok)
		}
	}
	s.segMu.Lock()
	high := int(s.arena.high) - 1
	s.segMu.Unlock()
	// Live: about 4 segments; compaction starts below three quarters live, at
	// 8 segments in use or more (9 measured). Without it: 116.
	if high > 12 {
		t.Errorf("%d segments ever used for 4 MB of live items over 120 MB written; want at most 12", high)
	}
	if ev := s.Totals().Evictions; ev != 0 {
		t.Errorf("%d evictions; compaction must keep every live item", ev)
	}
}

// TestUniformOverwritesStayCompact: overwrites spread evenly over a live
// set much larger than a segment leave every old segment more than half
// live for long, so compaction must merge several segments into one fewer
// (three at 62% live into two), not only two into one: with that alone
// the arena grew to 1.68x the live bytes.
func TestUniformOverwritesStayCompact(t *testing.T) {
	s := newTestStore(t, 256)
	const keys = 12000 // about 48 segments live
	value := strings.Repeat("v", 4000)
	for k := range keys {
		put(t, s, ModeSet, fmt.Sprint("key:", k), value, 0)
	}
	rng := rand.New(rand.NewSource(1))
	for range 4 * keys {
		put(t, s, ModeSet, fmt.Sprint("key:", rng.Intn(keys)), value, 0)
	}
	s.segMu.Lock()
	high := int(s.arena.high) - 1
	var live int64
	for id := int32(1); id < s.arena.high; id++ {
		if !s.arena.isFree(id) {
			live += s.arena.segs[id].live.Load()
		}
	}
	s.segMu.Unlock()
	// Compaction starts below three quarters live: 1.33x, and a few
	// segments open or being merged.
	if limit := int(live/segSize)*4/3 + 4; high > limit {
		t.Errorf("%d segments ever used for %d MB of live items; want at most %d", high, live>>20, limit)
	}
	if ev := s.Totals().Evictions; ev != 0 {
		t.Errorf("%d evictions; compaction must keep every live item", ev)
	}
	for k := range keys {
		if got, _, ok := get(s, fmt.Sprint("key:", k)); !ok || got != value {
			t.Fatalf("key:%d lost (found %v, %d bytes)", k, ok, len(got))
		}
	}
}
