package store

import (
	"cmp"
	"slices"
)

// Eviction is merge-based, as Segcache's: when no segment is free, a few
// of the oldest segments of one TTL bucket's chain (the bucket whose
// oldest segment is oldest overall; of its mergeWindow oldest, the
// mergeSegments with the fewest live bytes) are merged into one new
// segment, which joins the chain's newest end. Items the index no longer
// points at (replaced, deleted, never committed) are dropped for free and
// dead items are reclaimed; of the live ones, the most read since they
// were written or last merged are copied into the new segment, their read
// counts halved, as many as fill it (a first pass over the read counts
// picks the cutoff; what room they leave goes to the newest unread items),
// and the rest are evicted. So the hot set survives, going round the chain
// again as new items do, and read-once items (a cache-aside fill) do not
// outlive those read again. A merge frees all its sources but one.
const mergeSegments = 4

// mergeWindow is how many of a chain's oldest segments a merge chooses
// its sources among.
const mergeWindow = 16

// Eviction is an evicted item as memcached's watch evictions reports it.
type Eviction struct {
	Key        []byte // valid only during the call
	Fetched    bool   // read since it was stored
	TTL        int64  // seconds it had left, -1 for none
	LastAccess uint32 // seconds since it was last read or written
	Class      int
	Size       int // value bytes
}

// evict frees at least one segment, unless another caller freed one while
// this one waited. A caller holding a shard lock only tries: it must not
// wait for the evictor, which may be waiting for its shard.
func (s *Store) evict(held holding) bool {
	frees := s.frees.Load()
	if held.shard < 0 {
		s.evictMu.Lock()
	} else if !s.evictMu.TryLock() {
		return false
	}
	defer s.evictMu.Unlock()
	if s.frees.Load() != frees {
		return true
	}
	srcs, run := s.victims(held)
	if len(srcs) == 0 {
		id := s.sealOldest(held)
		return id != 0 && s.drop(id, held)
	}
	if len(srcs) == 1 || run {
		return s.drop(srcs[0], held)
	}
	return s.merge(srcs, held)
}

// victims picks the segments to merge: of the mergeWindow oldest sealed,
// unpinned segments of the chain whose head is oldest, the mergeSegments
// holding the fewest live bytes (replaced and deleted items leave dead
// bytes behind), oldest first; or a large item's run alone. evictMu is
// held.
func (s *Store) victims(held holding) (srcs []int32, run bool) {
	srcs, run = s.victimWindow(held)
	if run {
		return srcs, run
	}
	segs := s.arena.segs
	// Of the oldest, the ones with the fewest live bytes: the most room
	// freed for the fewest items evicted. Ties keep their age order.
	slices.SortStableFunc(srcs, func(a, b int32) int { return cmp.Compare(segs[a].live.Load(), segs[b].live.Load()) })
	srcs = srcs[:min(len(srcs), mergeSegments)]
	slices.SortFunc(srcs, func(a, b int32) int { return cmp.Compare(segs[a].seq, segs[b].seq) })
	return srcs, false
}

// victimWindow is the mergeWindow oldest sealed, unpinned segments of the
// chain whose head is oldest, oldest first, or a large item's run alone.
// evictMu is held.
func (s *Store) victimWindow(held holding) (srcs []int32, run bool) {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	segs := s.arena.segs
	best := -1
	for i := range s.buckets {
		b := &s.buckets[i]
		if id := b.head; s.evictable(b, id, held) && (best < 0 || segs[id].seq < segs[s.buckets[best].head].seq) {
			best = i
		}
	}
	if best < 0 {
		return nil, false
	}
	b := &s.buckets[best]
	if segs[b.head].run > 1 {
		return []int32{b.head}, true
	}
	for id := b.head; id != 0 && len(srcs) < mergeWindow && s.evictable(b, id, held) && segs[id].run == 1; id = segs[id].next {
		srcs = append(srcs, id)
	}
	return srcs, false
}

// evictable reports whether segment id can be freed now: it is not b's
// active segment, no item in it is being filled, and the caller is not
// reading from it. segMu is held.
func (s *Store) evictable(b *ttlBucket, id int32, held holding) bool {
	return id != 0 && id != b.active && s.arena.segs[id].pins.Load() == 0 &&
		(held.pin == 0 || segOf(held.pin) != id)
}

// sealOldest ends appends to the oldest active segment, so that it can be
// evicted: memory is too small for every TTL bucket in use to keep one
// open. It returns the segment if it is evictable. evictMu is held.
func (s *Store) sealOldest(held holding) int32 {
	s.segMu.Lock()
	best := -1
	for i := range s.buckets {
		if a := s.buckets[i].active; a != 0 && (best < 0 || s.arena.segs[a].seq < s.arena.segs[s.buckets[best].active].seq) {
			best = i
		}
	}
	s.segMu.Unlock()
	if best < 0 {
		return 0
	}
	b := &s.buckets[best]
	b.mu.Lock()
	s.segMu.Lock()
	defer s.segMu.Unlock()
	defer b.mu.Unlock()
	id := b.active
	b.active = 0
	if !s.evictable(b, id, held) {
		return 0
	}
	return id
}

// drop evicts every item of segment id and frees it. evictMu is held.
func (s *Store) drop(id int32, held holding) bool {
	now := s.clock.Now()
	if !s.walk(id, held, func(sh *shard, r loc, _ uint64, i int) bool {
		if s.cfg.DisableEvictions && s.live(r) {
			return false
		}
		s.remove(sh, r, i, now)
		return true
	}) {
		return false
	}
	s.segMu.Lock()
	s.discardLocked(id)
	s.segMu.Unlock()
	return true
}

// remove takes the item in slot i out of the index, counting it reclaimed
// if it was dead and evicted if not. sh.mu is held.
func (s *Store) remove(sh *shard, r loc, i int, now uint32) {
	c := s.counters(sh, r)
	if s.live(r) {
		s.countEviction(c, r, now)
	} else {
		c.Reclaimed++
		if !s.m.hasBit(r, bitFetched) {
			c.ExpiredUnfetched++
		}
	}
	s.unindex(sh, r, i)
}

// unindex takes the item in slot i out of the index. sh.mu is held.
func (s *Store) unindex(sh *shard, r loc, i int) {
	s.countLive(r, -s.m.total(r))
	sh.remove(s.m, i)
	sh.countItem(s.classOf(r), s.m.total(r), -1)
}

// merge merges srcs, the oldest segments of one chain, into a new segment
// at the chain's newest end. evictMu is held.
func (s *Store) merge(srcs []int32, held holding) bool {
	s.segMu.Lock()
	dst := s.arena.take(1, 1) // the sources free more than this one
	s.segMu.Unlock()
	if dst == 0 {
		return s.drop(srcs[0], held)
	}
	ds := &s.arena.segs[dst]
	now := s.clock.Now()
	cut := s.threshold(srcs, held)
	// Newest first, so that what room the most read items leave goes to
	// the newest of the others: the oldest unread items are evicted first.
	done := len(srcs)
	for k := len(srcs) - 1; k >= 0; k-- {
		id := srcs[k]
		if !s.walk(id, held, func(sh *shard, r loc, h uint64, i int) bool {
			e := sh.slots[i]
			if s.live(r) && cut.keeps(int(e.freq()), s.m.total(r)) && s.moveTo(sh, r, i, dst, e.freq()/2) {
				s.counters(sh, r).Rescues++
				return true
			}
			if s.cfg.DisableEvictions && s.live(r) {
				return false
			}
			s.remove(sh, r, i, now)
			return true
		}) {
			break
		}
		done = k
	}
	s.segMu.Lock()
	defer s.segMu.Unlock()
	if ds.write.Load() == 0 {
		s.release(dst)
	} else {
		// The kept items go round again, behind the newest segment: they
		// have as long to be read again as a new item has.
		s.chainLocked(&s.buckets[s.arena.segs[srcs[0]].bucket], dst)
		ds.created = s.arena.segs[srcs[0]].created
	}
	for _, id := range srcs[done:] {
		s.discardLocked(id)
	}
	return done < len(srcs)
}

// moveTo copies item r, in slot i, to the end of segment dst if it fits
// there, and points the slot at the copy with read count freq. sh.mu is
// held.
func (s *Store) moveTo(sh *shard, r loc, i int, dst int32, freq uint8) bool {
	ds := &s.arena.segs[dst]
	n := s.m.total(r)
	w := ds.write.Load()
	if int(w)+n > segSize {
		return false
	}
	nr := loc(int(dst)*segSize + int(w))
	copy(s.m[nr:int(nr)+n], s.m[r:int(r)+n])
	ds.raiseExp(s.m.exptime(nr))
	ds.write.Store(w + uint32(n))
	sh.slots[i] = makeSlot(sh.slots[i].tag(), freq, nr)
	s.countLive(r, -n)
	s.countLive(nr, n)
	return true
}

// cutoff is which items a merge keeps: every live one read more than freq
// times, and of those read exactly freq times, the first budget bytes.
type cutoff struct {
	freq, budget int
}

func (c *cutoff) keeps(freq, n int) bool {
	switch {
	case freq > c.freq:
		return true
	case freq == c.freq && n <= c.budget:
		c.budget -= n
		return true
	}
	return false
}

// threshold reads the read counts of srcs' live items and picks the cutoff
// that fills one segment with the most read of them: all of them, if they
// fit. evictMu is held.
func (s *Store) threshold(srcs []int32, held holding) cutoff {
	var bytes [freqCap + 1]int
	for _, id := range srcs {
		s.walk(id, held, func(sh *shard, r loc, _ uint64, i int) bool {
			if s.live(r) {
				bytes[sh.slots[i].freq()] += s.m.total(r)
			}
			return true
		})
	}
	if s.cfg.DisableEvictions {
		return cutoff{freq: -1} // keep every live item that fits
	}
	room := segSize
	for f := freqCap; f >= 0; f-- {
		if bytes[f] > room {
			return cutoff{freq: f, budget: room}
		}
		room -= bytes[f]
	}
	return cutoff{freq: -1}
}

// discardLocked takes segment id out of its chain and frees it, its items
// gone. segMu is held.
func (s *Store) discardLocked(id int32) {
	s.unchain(id)
	s.release(id)
}

// release frees segment id. segMu is held.
func (s *Store) release(id int32) {
	s.arena.release(id)
	s.frees.Add(1)
}

func (s *Store) countEviction(c *ClassCounters, r loc, now uint32) {
	if f := s.cfg.OnEvict; f != nil {
		ttl := int64(-1)
		if exp := s.m.exptime(r); exp != 0 {
			ttl = int64(exp) - int64(now)
		}
		f(Eviction{Key: s.m.keyOf(r), Fetched: s.m.hasBit(r, bitFetched), TTL: ttl,
			LastAccess: now - s.m.atime(r), Class: s.classOf(r), Size: s.m.vlen(r)})
	}
	c.Evicted++
	if s.m.exptime(r) != 0 {
		c.EvictedNonzero++
	}
	if !s.m.hasBit(r, bitFetched) {
		c.EvictedUnfetched++
	}
	c.EvictedTime = now - s.m.atime(r)
}
