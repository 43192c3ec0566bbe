package slab

// live reports whether a linked item is neither expired nor flushed.
func (s *Store) live(r ref) bool {
	exp := s.m.u32(r, hdrExptime)
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
