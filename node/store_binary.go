package node

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
		sh.stats.deleteMisses++
		return NotFound
	case s.reportCAS(r) != cas:
		return Exists
	}
	sh.stats.deleteHits++
	s.unlink(sh, r, false)
	return Stored
}
