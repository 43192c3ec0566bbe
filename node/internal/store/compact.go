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
// (one the process has not touched yet), it first compacts the oldest
// segments whose live items fit in one segment fewer, if the segments in
// use hold less than three quarters of live bytes: all their items are
// kept, and a segment is freed for reuse. (Two thirds cost the same
// copying in the overwrite test below and kept 1.5x the live bytes; four
// fifths kept 1.25x for 30% more time per overwrite, nine tenths 1.15x
// for twice the time.)

// compactNum/compactDen is the share of live bytes in the segments in use
// under which segments are reclaimed rather than a fresh one taken.
const compactNum, compactDen = 3, 4

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
		s.compact(srcs, held)
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
// merge from, the fewest (those with the fewest live bytes) whose live
// items fit in one segment fewer than they are. Two fitting in one is not
// enough: under uniform overwrites the oldest segments stay more than half
// live until the arena is 1.7x its live bytes (4 KB values: 331 segments
// for 197 MB live). evictMu is held.
func (s *Store) compactable(held holding) []int32 {
	srcs, run := s.victimWindow(held)
	if run {
		return nil
	}
	segs := s.arena.segs
	slices.SortStableFunc(srcs, func(a, b int32) int { return cmp.Compare(segs[a].live.Load(), segs[b].live.Load()) })
	var sum int64
	for n := 1; n <= len(srcs); n++ {
		sum += segs[srcs[n-1]].live.Load()
		// Items are not split across segments: allow each destination a
		// sixteenth for the item that does not fit at its end.
		if n >= 2 && sum <= int64(n-1)*(segSize-segSize/16) {
			srcs = srcs[:n]
			slices.SortFunc(srcs, func(a, b int32) int { return cmp.Compare(segs[a].seq, segs[b].seq) })
			return srcs
		}
	}
	return nil
}

// compact moves the live items of srcs, the oldest segments of one chain,
// into segments at the chain's newest end, every item kept with its read
// count: each source, once emptied, is freed, and the next destination is
// taken from those freed, so that compacting touches at most one segment
// besides its sources. It stops, leaving the rest where they are, if a
// destination fills before any source is empty. evictMu is held.
func (s *Store) compact(srcs []int32, held holding) {
	segs := s.arena.segs
	bucket := &s.buckets[segs[srcs[0]].bucket]
	created := segs[srcs[0]].created
	now := s.clock.Now()
	var dst int32
	next := func() bool {
		s.segMu.Lock()
		defer s.segMu.Unlock()
		if dst != 0 {
			s.chainLocked(bucket, dst)
			segs[dst].created = created
		}
		dst = s.arena.take(1, 1)
		return dst != 0
	}
	if !next() {
		return
	}
	for _, id := range srcs {
		if !s.walk(id, held, func(sh *shard, r loc, _ uint64, i int) bool {
			switch {
			case !s.live(r):
				s.remove(sh, r, i, now)
			case !s.moveTo(sh, r, i, dst, sh.slots[i].freq()):
				return next() && s.moveTo(sh, r, i, dst, sh.slots[i].freq())
			}
			return true
		}) {
			break
		}
		s.segMu.Lock()
		s.discardLocked(id)
		s.segMu.Unlock()
	}
	s.segMu.Lock()
	defer s.segMu.Unlock()
	switch {
	case dst == 0: // the last one filled and none was free: chained already
	case segs[dst].write.Load() == 0:
		s.release(dst)
	default:
		s.chainLocked(bucket, dst)
		segs[dst].created = created
	}
}
