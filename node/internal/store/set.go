package store

// Result is the outcome of a storage command, as the text protocol names it.
type Result uint8

// Storage outcomes.
const (
	Stored Result = iota
	NotStored
	Exists
	NotFound
)

// Reservation is an item allocated in a segment whose value a connection
// is still reading. Fill Value, then Commit or Cancel it.
type Reservation struct {
	r    loc
	hash uint64
}

// Reserve allocates an item for key with a value of n bytes. It fails with
// ErrTooLarge or ErrOutOfMemory; a set that fails this way also removes the
// old value, so that a client never reads back data it tried to replace
// (memcached does the same).
func (s *Store) Reserve(key []byte, flags uint32, exptime int64, n int, mode Mode) (Reservation, error) {
	h := s.hash(key)
	r, err := s.alloc(key, n, flags, s.clock.expiry(exptime), holdingNothing)
	if err != nil {
		if mode == ModeSet {
			s.removeQuietly(key, h)
		}
		return Reservation{}, err
	}
	return Reservation{r: r, hash: h}, nil
}

func (s *Store) removeQuietly(key []byte, h uint64) {
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	if r := s.find(sh, key, h); r != 0 {
		s.unlink(sh, r, h)
	}
	sh.mu.Unlock()
}

// Value is the reservation's value, for the caller to fill.
func (s *Store) Value(res Reservation) []byte { return s.m.valueOf(res.r) }

// Cancel gives up a reservation that will not be committed: its bytes stay
// in the segment, dead.
func (s *Store) Cancel(res Reservation) { s.unpin(res.r) }

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
func (s *Store) commit(sh *shard, res Reservation, mode Mode, cas uint64) (Result, loc, error) {
	key := s.m.keyOf(res.r)
	sh.ops.SetCmds++
	sh.byClass[s.classOf(res.r)].CmdSet++
	old := s.lookup(sh, key, res.hash)
	result := s.admit(sh, old, mode, cas)
	if result != Stored {
		if mode == ModeAdd && old != 0 {
			s.bump(sh, old, res.hash) // memcached bumps an item a failed add ran into
		}
		s.Cancel(res)
		return result, 0, nil
	}
	r := res.r
	if mode == ModeAppend || mode == ModePrepend {
		joined, err := s.join(old, r, res.hash, mode == ModePrepend)
		s.Cancel(res)
		if err != nil {
			return NotStored, 0, err
		}
		r = joined
	}
	if err := s.replace(sh, old, r, res.hash); err != nil {
		return NotStored, 0, err
	}
	return Stored, r, nil
}

// replace links r in old's place, or as a new item when old is 0. The
// shard lock is held.
func (s *Store) replace(sh *shard, old, r loc, h uint64) error {
	if old != 0 {
		s.relink(sh, old, r, h)
		return nil
	}
	if err := s.link(sh, r, h); err != nil {
		return ErrOutOfMemory
	}
	return nil
}

// admit decides whether a store in this mode goes ahead, counting cas
// outcomes. The shard lock is held.
func (s *Store) admit(sh *shard, old loc, mode Mode, cas uint64) Result {
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
			sh.ops.CasMisses++
			return NotFound
		}
	}
	if cas != 0 || mode == ModeCAS {
		if old == 0 {
			return NotFound
		}
		if s.m.cas(old) != cas {
			if mode == ModeCAS {
				sh.ops.CasBadval++
				s.ops(sh, old).CasBadval++
			}
			return Exists
		}
		if mode == ModeCAS {
			sh.ops.CasHits++
			s.ops(sh, old).CasHits++
		}
	}
	return Stored
}

// join allocates an item holding old's value with add's value after it (or
// before it, with prepend), keeping old's flags and expiry. The shard lock
// is held.
func (s *Store) join(old, add loc, h uint64, prepend bool) (loc, error) {
	ov, av := s.m.valueOf(old), s.m.valueOf(add)
	r, err := s.alloc(s.m.keyOf(old), len(ov)+len(av), s.m.flags(old), s.m.exptime(old),
		holding{shardOf(h), old})
	if err != nil {
		return 0, err
	}
	v := s.m.valueOf(r)
	if prepend {
		copy(v[copy(v, av):], ov)
	} else {
		copy(v[copy(v, ov):], av)
	}
	return r, nil
}

func (s *Store) reportCAS(r loc) uint64 {
	if s.cfg.DisableCAS {
		return 0
	}
	return s.m.cas(r)
}

// setNewCAS gives an item the CAS a command chose, if it chose one, instead
// of the next CAS link or a change drew. The shard lock is held.
func (s *Store) setNewCAS(r loc, cas uint64, has bool) {
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
			s.setExptime(res.r, s.m.exptime(old))
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
