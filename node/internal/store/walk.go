package store

// A segment is walked item by item from its start to where its writes have
// reached: klen and vlen, written before the write offset moved past them,
// give each item's size. Whoever walks holds evictMu, so that no segment
// is freed under the walk.

// visit is what a walk does with an item the index still points at: sh is
// its shard, locked, and i its slot. It returns false to stop the walk.
type visit func(sh *shard, r loc, h uint64, i int) bool

// walk calls fn for each indexed item of segment id, locking each item's
// shard: blocking when the caller holds none, else the caller's own shard
// is taken as locked and others only try-locked. It returns false when fn
// stopped it or a shard could not be locked. evictMu is held.
func (s *Store) walk(id int32, held holding, fn visit) bool {
	_, ok := s.walkFrom(id, 0, segSize, held, fn)
	return ok
}

// walkFrom is walk from byte from of the segment, over at most n items; it
// also returns where it stopped, or -1 at the segment's end.
func (s *Store) walkFrom(id int32, from, n int, held holding, fn visit) (int, bool) {
	base := int(id) * segSize
	end := base + int(s.arena.segs[id].write.Load())
	for off := base + from; off < end; n-- {
		if n == 0 {
			return off - base, true
		}
		r := loc(off)
		off += s.m.total(r)
		h := s.hash(s.m.keyOf(r))
		idx := shardOf(h)
		sh := &s.shards[idx]
		switch {
		case idx == held.shard:
		case held.shard < 0:
			sh.mu.Lock()
		case !sh.mu.TryLock():
			return -1, false
		}
		ok := true
		if i := sh.findLoc(r, h); i >= 0 {
			ok = fn(sh, r, h, i)
		}
		if idx != held.shard {
			sh.mu.Unlock()
		}
		if !ok {
			return -1, false
		}
	}
	return -1, true
}
