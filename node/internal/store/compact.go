package store

import (
	"cmp"
	"slices"
)

// Compaction. A replaced or deleted item leaves its bytes in its segment
// until the segment is merged or dropped, and eviction merges only when no
// segment is free: an overwrite-heavy cache would so fill all of -m with
// dead copies before reusing any (bench-compare's 4k-50set: 960 MB
// resident for 200 MB of items, memcached 224 MB, which reuses a replaced
// item's chunk at once). So before the arena takes a segment it never used
// (one the process has not touched yet), it first merges the oldest
// segments whose live items fit together in one, if the segments in use
// hold less than two thirds of live bytes: all their items are kept
// (merge keeps every live item when they fit), and all the sources but one
// are freed for reuse.

// compactNum/compactDen is the share of live bytes in the segments in use
// under which segments are reclaimed rather than a fresh one taken.
const compactNum, compactDen = 2, 3

// compactIfWasteful compacts before the arena grows, as above. A caller
// holding a shard lock only tries, as in evict.
func (s *Store) compactIfWasteful(held holding) {
	if !s.wasteful() {
		return
	}
	if held.shard < 0 {
		s.evictMu.Lock()
	} else if !s.evictMu.TryLock() {
		return
	}
	defer s.evictMu.Unlock()
	if srcs := s.compactable(held); len(srcs) >= 2 {
		s.merge(srcs, held)
	}
}

// wasteful says whether the arena is about to take segments it never used
// while the segments in use are mostly dead bytes.
func (s *Store) wasteful() bool {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	a := s.arena
	// With one freed segment left the merge takes it as its destination,
	// so that compacting does not itself touch a fresh segment.
	if int(a.high)-1-a.used > 1 || a.used < 2*mergeSegments {
		return false // freed segments are there to reuse, or too few to bother
	}
	var live int64
	for id := int32(1); id < a.high; id++ {
		if !a.isFree(id) {
			live += a.segs[id].live.Load()
		}
	}
	return live*compactDen < int64(a.used)*segSize*compactNum
}

// compactable picks, among the oldest segments of the chain eviction would
// merge from, those with the fewest live bytes whose items fit together in
// one segment. evictMu is held.
func (s *Store) compactable(held holding) []int32 {
	srcs, run := s.victimWindow(held)
	if run {
		return nil
	}
	segs := s.arena.segs
	slices.SortStableFunc(srcs, func(a, b int32) int { return cmp.Compare(segs[a].live.Load(), segs[b].live.Load()) })
	var sum int64
	n := 0
	for n < len(srcs) && sum+segs[srcs[n]].live.Load() <= segSize {
		sum += segs[srcs[n]].live.Load()
		n++
	}
	srcs = srcs[:n]
	slices.SortFunc(srcs, func(a, b int32) int { return cmp.Compare(segs[a].seq, segs[b].seq) })
	return srcs
}
