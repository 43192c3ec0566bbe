package slab

// Result is the outcome of a storage command, as the text protocol names it.
type Result uint8

// Storage outcomes.
const (
	Stored Result = iota
	NotStored
	Exists
	NotFound
)

// Reservation is a chunk allocated for an item whose value a connection is
// still reading. Fill Value, then Commit or Cancel it.
type Reservation struct {
	r    ref
	hash uint32
}

// Reserve allocates an item for key with a value of n bytes. It fails with
// ErrTooLarge or ErrOutOfMemory; a set that fails this way also removes the
// old value, so that a client never reads back data it tried to replace
// (memcached does the same).
func (s *Store) Reserve(key []byte, flags uint32, exptime int64, n int, mode Mode) (Reservation, error) {
	h := s.hash(key)
	size := itemSize(len(key), n)
	r, err := s.alloc(size, holdingNothing)
	if err != nil {
		if mode == ModeSet {
			s.removeQuietly(key, h)
		}
		return Reservation{}, err
	}
	s.m.initItem(r, s.m.class(r), key, n, flags, s.clock.expiry(exptime))
	return Reservation{r: r, hash: h}, nil
}

func (s *Store) removeQuietly(key []byte, h uint32) {
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	if r := sh.find(s.m, key, h); r != 0 {
		s.unlink(sh, r, false)
	}
	sh.mu.Unlock()
}

// Value is the reservation's value, for the caller to fill.
func (s *Store) Value(res Reservation) []byte { return s.m.valueOf(res.r) }

// Cancel frees a reservation that will not be committed.
func (s *Store) Cancel(res Reservation) {
	c := s.slabs.classes[s.m.class(res.r)]
	c.mu.Lock()
	s.slabs.release(c, res.r)
	c.mu.Unlock()
}

// Commit stores a filled reservation according to mode; cas is the unique
// a cas command gave (0 for none; binary and meta commands may give one for
// any mode). The reservation is consumed whatever the result. On Stored, the
// new CAS is returned.
func (s *Store) Commit(res Reservation, mode Mode, cas uint64) (Result, uint64, error) {
	sh := &s.shards[shardOf(res.hash)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	result, r, err := s.commit(sh, res, mode, cas)
	if result != Stored {
		return result, 0, err
	}
	return Stored, s.reportCAS(r), nil
}

// commit is Commit with the shard lock held; on Stored it returns the item
// now linked.
func (s *Store) commit(sh *shard, res Reservation, mode Mode, cas uint64) (Result, ref, error) {
	key := s.m.keyOf(res.r)
	sh.stats.SetCmds++
	s.ops(sh, res.r).CmdSet++
	old := s.lookup(sh, key, res.hash)
	result := s.admit(sh, old, mode, cas)
	if result != Stored {
		if mode == ModeAdd && old != 0 {
			s.bump(old) // memcached bumps an item a failed add ran into
		}
		s.Cancel(res)
		return result, 0, nil
	}
	r := res.r
	if mode == ModeAppend || mode == ModePrepend {
		joined, err := s.join(sh, old, r, mode == ModePrepend)
		s.Cancel(res)
		if err != nil {
			return NotStored, 0, err
		}
		r = joined
	}
	if old != 0 {
		s.unlink(sh, old, false)
	}
	s.link(sh, r)
	return Stored, r, nil
}

// admit decides whether a store in this mode goes ahead, counting cas
// outcomes. The shard lock is held.
func (s *Store) admit(sh *shard, old ref, mode Mode, cas uint64) Result {
	switch mode {
	case ModeAdd:
		if old != 0 {
			return NotStored
		}
	case ModeReplace, ModeAppend, ModePrepend:
		if old == 0 {
			return NotStored
		}
	case ModeCAS:
		if old == 0 {
			sh.stats.CasMisses++
			return NotFound
		}
	}
	if cas != 0 || mode == ModeCAS {
		if old == 0 {
			return NotFound
		}
		if s.m.cas(old) != cas {
			if mode == ModeCAS {
				sh.stats.CasBadval++
				s.ops(sh, old).CasBadval++
			}
			return Exists
		}
		if mode == ModeCAS {
			sh.stats.CasHits++
			s.ops(sh, old).CasHits++
		}
	}
	return Stored
}

// join allocates an item holding old's value with add's value after it (or
// before it, with prepend), keeping old's flags and expiry. The shard lock
// is held.
func (s *Store) join(sh *shard, old, add ref, prepend bool) (ref, error) {
	ov, av := s.m.valueOf(old), s.m.valueOf(add)
	key := s.m.keyOf(old)
	r, err := s.alloc(itemSize(len(key), len(ov)+len(av)), holding{shardOf(s.hashOf(old)), old})
	if err != nil {
		return 0, err
	}
	s.m.initItem(r, s.m.class(r), key, len(ov)+len(av),
		s.m.u32(old, hdrFlags), s.m.u32(old, hdrExptime))
	v := s.m.valueOf(r)
	if prepend {
		copy(v[copy(v, av):], ov)
	} else {
		copy(v[copy(v, ov):], av)
	}
	return r, nil
}

func (s *Store) reportCAS(r ref) uint64 {
	if s.cfg.DisableCAS {
		return 0
	}
	return s.m.cas(r)
}

// setNewCAS gives an item the CAS a command chose, if it chose one, instead
// of the next CAS link or a change drew. The shard lock is held.
func (s *Store) setNewCAS(r ref, cas uint64, has bool) {
	if has {
		s.m.setCAS(r, cas)
	}
}

// CommitWith stores a filled reservation as o says. With o.Invalidate, a
// CAS older than the item's stores the value anyway, marked stale and
// keeping the item's expiry and recache token, as memcached does;
// o.NewCAS gives the stored item that CAS. On Stored it returns the new CAS.
func (s *Store) CommitWith(res Reservation, o *SetOptions) (Result, uint64, error) {
	mode := o.Mode
	cas := o.CAS
	if mode == ModeAdd {
		cas = 0 // memcached's add never compares
	}
	if o.KeyBinary {
		s.m.setBit(res.r, bitKeyBinary)
	}
	sh := &s.shards[shardOf(res.hash)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if o.Invalidate && mode == ModeCAS && cas != 0 {
		old := s.lookup(sh, s.m.keyOf(res.r), res.hash)
		if old != 0 && cas < s.m.cas(old) {
			s.m.setU32(res.r, hdrExptime, s.m.u32(old, hdrExptime))
			s.m.setBit(res.r, bitStale)
			if s.m.hasBit(old, bitWon) {
				s.m.setBit(res.r, bitWon)
			}
			cas = s.m.cas(old) // admitted, and counted a cas hit, as memcached does
		}
	}
	result, r, err := s.commit(sh, res, mode, cas)
	if result != Stored {
		return result, 0, err
	}
	s.setNewCAS(r, o.NewCAS, o.HasNewCAS)
	return Stored, s.reportCAS(r), nil
}
