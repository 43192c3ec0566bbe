package store

// live reports whether an item is neither expired nor flushed.
func (s *Store) live(r loc) bool {
	exp := s.m.exptime(r)
	if exp != 0 && exp <= s.clock.Now() {
		return false
	}
	return s.m.cas(r) >= s.flushCAS.Load()
}

// FlushAll invalidates every item now, or, with a positive delay, at that
// exptime (seconds from now or a unix time), as flush_all does.
func (s *Store) FlushAll(delay int64) {
	if delay > 0 {
		// memcached (with CAS) flushes a second before the time it is given.
		if at := s.clock.expiry(delay) - 1; at > s.clock.Now() {
			s.flushAt.Store(at)
			return
		}
	}
	s.flushAt.Store(0)
	s.flushCAS.Store(s.cas.Add(1))
}

// flushIfDue carries out a delayed flush whose time has come: every item
// stored until now is invalidated.
func (s *Store) flushIfDue() {
	if at := s.flushAt.Load(); at != 0 && at <= s.clock.Now() {
		s.flushAt.Store(0)
		s.flushCAS.Store(s.cas.Load() + 1)
	}
}

// expireSegments frees, without looking at their items one by one more
// than to unindex them, the segments whose every item has expired: the
// oldest segments of each TTL bucket's chain, whose latest expiry has
// passed.
func (s *Store) expireSegments() {
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	now := s.clock.Now()
	for i := range s.buckets {
		for {
			id := s.expiredHead(&s.buckets[i], now)
			if id == 0 || !s.reap(id) {
				break
			}
		}
	}
}

// expiredHead is b's oldest segment if all its items have expired, sealed
// so that nothing more is appended to it. evictMu is held.
func (s *Store) expiredHead(b *ttlBucket, now uint32) int32 {
	s.segMu.Lock()
	id := b.head
	s.segMu.Unlock()
	if id == 0 {
		return 0
	}
	sg := &s.arena.segs[id]
	if exp := sg.maxExp.Load(); exp == never || exp > now || sg.pins.Load() != 0 {
		return 0
	}
	b.mu.Lock()
	s.segMu.Lock()
	if b.active == id {
		b.active = 0
	}
	s.segMu.Unlock()
	b.mu.Unlock()
	if sg.pins.Load() != 0 || sg.maxExp.Load() > now {
		return 0 // an item was appended before the seal
	}
	return id
}

// reap unindexes the items of an expired segment and frees it. evictMu is
// held.
func (s *Store) reap(id int32) bool {
	ok := s.walk(id, holdingNothing, func(sh *shard, r loc, _ uint64, i int) bool {
		if s.live(r) {
			return false // touched since (raiseExp raced the check): keep
		}
		c := s.counters(sh, r)
		c.CrawlerReclaimed++
		if !s.m.hasBit(r, bitFetched) {
			c.ExpiredUnfetched++
		}
		s.unindex(sh, r, i)
		return true
	})
	if !ok {
		return false
	}
	s.segMu.Lock()
	s.discardLocked(id)
	s.segMu.Unlock()
	return true
}
