package store

// DeleteCAS removes a live item whose CAS is cas, or any live item when cas
// is 0, as the binary protocol's delete does. It returns Stored when it
// removed one, NotFound on a miss, or Exists when the CAS differed.
func (s *Store) DeleteCAS(key []byte, cas uint64) Result {
	if cas == 0 {
		if s.Delete(key) {
			return Stored
		}
		return NotFound
	}
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	switch {
	case r == 0:
		sh.ops.DeleteMisses++
		return NotFound
	case s.reportCAS(r) != cas:
		return Exists
	}
	sh.ops.DeleteHits++
	s.ops(sh, r).DeleteHits++
	s.unlink(sh, r, h)
	return Stored
}

// Delete removes a live item. It reports whether there was one.
func (s *Store) Delete(key []byte) bool {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	if r == 0 {
		sh.ops.DeleteMisses++
		return false
	}
	sh.ops.DeleteHits++
	s.ops(sh, r).DeleteHits++
	s.unlink(sh, r, h)
	return true
}

// DeleteWith removes o.Key's item, or with o.Invalidate marks it stale
// instead, giving it a new CAS (or o.NewCAS), the TTL if given, and taking
// back the recache token so that the next read wins it. With o.HasCAS it
// acts only on an item of that CAS. It returns Stored when it did either.
func (s *Store) DeleteWith(o *DeleteOptions) Result {
	m := o
	h := s.hash(m.Key)
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := s.lookup(sh, m.Key, h)
	switch {
	case r == 0:
		sh.ops.DeleteMisses++
		return NotFound
	case m.HasCAS && s.reportCAS(r) != m.CAS:
		sh.ops.DeleteMisses++
		return Exists
	case m.Invalidate:
		if m.HasTTL {
			s.setExptime(r, s.clock.expiry(m.TTL))
		}
		s.m.setBit(r, bitStale)
		s.m.clearBit(r, bitWon)
		s.m.setCAS(r, s.cas.Add(1))
		s.setNewCAS(r, m.NewCAS, m.HasNewCAS)
		return Stored
	}
	sh.ops.DeleteHits++
	s.ops(sh, r).DeleteHits++
	s.unlink(sh, r, h)
	return Stored
}
