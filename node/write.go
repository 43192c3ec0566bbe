package node

import (
	"errors"

	"github.com/shoal-cache/shoal/protocol"
)

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
func (s *Store) Reserve(key []byte, flags uint32, exptime int64, n int, mode protocol.StoreMode) (Reservation, error) {
	h := s.hash(key)
	size := itemSize(len(key), n)
	r, err := s.alloc(size, holdingNothing)
	if err != nil {
		if mode == protocol.ModeSet {
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
func (s *Store) Commit(res Reservation, mode protocol.StoreMode, cas uint64) (Result, uint64, error) {
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
func (s *Store) commit(sh *shard, res Reservation, mode protocol.StoreMode, cas uint64) (Result, ref, error) {
	key := s.m.keyOf(res.r)
	sh.stats.setCmds++
	old := s.lookup(sh, key, res.hash)
	result := s.admit(sh, old, mode, cas)
	if result != Stored {
		if mode == protocol.ModeAdd && old != 0 {
			s.bump(old) // memcached bumps an item a failed add ran into
		}
		s.Cancel(res)
		return result, 0, nil
	}
	r := res.r
	if mode == protocol.ModeAppend || mode == protocol.ModePrepend {
		joined, err := s.join(sh, old, r, mode == protocol.ModePrepend)
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
func (s *Store) admit(sh *shard, old ref, mode protocol.StoreMode, cas uint64) Result {
	switch mode {
	case protocol.ModeAdd:
		if old != 0 {
			return NotStored
		}
	case protocol.ModeReplace, protocol.ModeAppend, protocol.ModePrepend:
		if old == 0 {
			return NotStored
		}
	case protocol.ModeCAS:
		if old == 0 {
			sh.stats.casMisses++
			return NotFound
		}
	}
	if cas != 0 || mode == protocol.ModeCAS {
		if old == 0 {
			return NotFound
		}
		if s.m.cas(old) != cas {
			if mode == protocol.ModeCAS {
				sh.stats.casBadval++
			}
			return Exists
		}
		if mode == protocol.ModeCAS {
			sh.stats.casHits++
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

// Arith adds delta to (incr) or subtracts it from (decr, flooring at 0) a
// decimal value, as incr and decr do: unsigned 64-bit, incr wraps. It
// returns the new value and CAS, or found=false on a miss.
func (s *Store) Arith(key []byte, incr bool, delta uint64) (v, cas uint64, found bool, err error) {
	return s.ArithOrCreate(key, incr, delta, nil)
}

// Create is the item an arithmetic command stores on a miss (the binary
// protocol's initial value, meta's N flag).
type Create struct {
	Initial uint64
	Exptime int64
	Flags   uint32
}

// ArithOrCreate is Arith that, on a miss with create set, stores
// create.Initial instead (found stays false).
func (s *Store) ArithOrCreate(key []byte, incr bool, delta uint64, create *Create) (v, cas uint64, found bool, err error) {
	return s.ArithCAS(key, incr, delta, create, 0)
}

// ErrCASMismatch ends an arithmetic command whose item has another CAS.
var ErrCASMismatch = errors.New("cas mismatch")

// ArithCAS is ArithOrCreate that, given a nonzero compare CAS, changes an
// existing item only if its CAS is that (binary incr/decr, meta ma C).
func (s *Store) ArithCAS(key []byte, incr bool, delta uint64, create *Create, compare uint64) (v, cas uint64, found bool, err error) {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	if r == 0 {
		if incr {
			sh.stats.incrMisses++
		} else {
			sh.stats.decrMisses++
		}
		if create == nil {
			return 0, 0, false, nil
		}
		r, err := s.storeCounter(sh, key, h, create.Initial, create.Flags, s.clock.expiry(create.Exptime))
		if err != nil {
			return 0, 0, false, err
		}
		return create.Initial, s.reportCAS(r), false, nil
	}
	// memcached's order: an empty value is non-numeric before the CAS is
	// compared, any other value is parsed after it.
	if s.m.vlen(r) == 0 {
		return 0, 0, true, ErrNonNumeric
	}
	if compare != 0 && compare != s.reportCAS(r) {
		return 0, 0, true, ErrCASMismatch
	}
	cur, ok := protocol.ParseUint64(s.m.valueOf(r))
	if !ok {
		return 0, 0, true, ErrNonNumeric
	}
	if incr {
		sh.stats.incrHits++
		v = cur + delta
	} else {
		sh.stats.decrHits++
		v = cur - min(cur, delta)
	}
	r, err = s.setCounter(sh, r, v)
	if err != nil {
		return 0, 0, true, err
	}
	return v, s.reportCAS(r), true, nil
}

// storeCounter links a new item holding v. The shard lock is held.
func (s *Store) storeCounter(sh *shard, key []byte, h uint32, v uint64, flags, exptime uint32) (ref, error) {
	var buf [20]byte
	digits := protocol.AppendUint(buf[:0], v)
	r, err := s.alloc(itemSize(len(key), len(digits)), holding{shard: shardOf(h)})
	if err != nil {
		return 0, err
	}
	s.m.initItem(r, s.m.class(r), key, len(digits), flags, exptime)
	copy(s.m.valueOf(r), digits)
	s.link(sh, r)
	return r, nil
}

// setCounter writes a counter's new value: in place, padded with spaces as
// memcached pads it, when it fits, else in a new item that replaces r. The
// shard lock is held. It returns the item now holding the value.
func (s *Store) setCounter(sh *shard, r ref, v uint64) (ref, error) {
	var buf [20]byte
	digits := protocol.AppendUint(buf[:0], v)
	val := s.m.valueOf(r)
	if len(digits) <= len(val) {
		n := copy(val, digits)
		for i := n; i < len(val); i++ {
			val[i] = ' '
		}
		s.m.setCAS(r, s.cas.Add(1))
		s.bump(r)
		return r, nil
	}
	nr, err := s.alloc(itemSize(s.m.klen(r), len(digits)), holding{shardOf(s.hashOf(r)), r})
	if err != nil {
		return 0, err
	}
	s.m.initItem(nr, s.m.class(nr), s.m.keyOf(r), len(digits), s.m.u32(r, hdrFlags), s.m.u32(r, hdrExptime))
	copy(s.m.valueOf(nr), digits)
	s.unlink(sh, r, false)
	s.link(sh, nr)
	return nr, nil
}
