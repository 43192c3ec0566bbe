package store

import (
	"errors"

	"github.com/shoal-cache/shoal/protocol"
)

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
// existing item only if its CAS is that (binary incr/decr).
func (s *Store) ArithCAS(key []byte, incr bool, delta uint64, create *Create, compare uint64) (v, cas uint64, found bool, err error) {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	if r == 0 {
		if incr {
			sh.ops.IncrMisses++
		} else {
			sh.ops.DecrMisses++
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
		sh.ops.IncrHits++
		s.ops(sh, r).IncrHits++
		v = cur + delta
	} else {
		sh.ops.DecrHits++
		s.ops(sh, r).DecrHits++
		v = cur - min(cur, delta)
	}
	r, err = s.setCounter(sh, r, h, v)
	if err != nil {
		return 0, 0, true, err
	}
	return v, s.reportCAS(r), true, nil
}

// storeCounter links a new item holding v. The shard lock is held.
func (s *Store) storeCounter(sh *shard, key []byte, h uint64, v uint64, flags, exptime uint32) (loc, error) {
	var buf [20]byte
	digits := protocol.AppendUint(buf[:0], v)
	r, err := s.alloc(key, len(digits), flags, exptime, holding{shard: shardOf(h)})
	if err != nil {
		return 0, err
	}
	copy(s.m.valueOf(r), digits)
	if err := s.link(sh, r, h); err != nil {
		return 0, ErrOutOfMemory
	}
	return r, nil
}

// setCounter writes a counter's new value: in place, padded with spaces as
// memcached pads it, when it fits, else in a new item that replaces r. The
// shard lock is held. It returns the item now holding the value.
func (s *Store) setCounter(sh *shard, r loc, h, v uint64) (loc, error) {
	var buf [20]byte
	digits := protocol.AppendUint(buf[:0], v)
	val := s.m.valueOf(r)
	if len(digits) <= len(val) {
		n := copy(val, digits)
		for i := n; i < len(val); i++ {
			val[i] = ' '
		}
		s.m.setCAS(r, s.cas.Add(1))
		s.bump(sh, r, h)
		return r, nil
	}
	nr, err := s.alloc(s.m.keyOf(r), len(digits), s.m.flags(r), s.m.exptime(r), holding{shardOf(h), r})
	if err != nil {
		return 0, err
	}
	copy(s.m.valueOf(nr), digits)
	s.relink(sh, r, nr, h)
	return nr, nil
}

// ArithOutcome is how ArithWith went, apart from errors.
type ArithOutcome uint8

// Outcomes of ArithWith.
const (
	ArithChanged  ArithOutcome = iota // an existing counter was changed
	ArithCreated                      // Vivify created the counter
	ArithNotFound                     // a miss without Vivify
	ArithExists                       // the item's CAS was not the one given
)

// ArithWith increments or decrements o.Key's counter as Arith does, or with
// o.Vivify creates it holding o.Initial, checks o.CAS (0 means none), gives
// the changed item o.NewCAS, then applies o.Steps in order. It reports the
// CAS and the TTL. It fails with ErrNonNumeric, or ErrOutOfMemory (with
// ArithCreated when the memory was for a new counter).
func (s *Store) ArithWith(o *ArithOptions) (out ArithOutcome, v uint64, it MetaItem, err error) {
	m := o
	h := s.hash(m.Key)
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := s.lookup(sh, m.Key, h)
	if r == 0 {
		if !m.Vivify {
			s.countArithMiss(sh, m.Incr)
			return ArithNotFound, 0, it, nil
		}
		out, v = ArithCreated, m.Initial
		if r, err = s.storeCounter(sh, m.Key, h, v, 0, 0); err != nil {
			return out, 0, it, ErrOutOfMemory
		}
	} else {
		out = ArithChanged
		if r, v, err = s.metaDelta(sh, r, h, m); err != nil || r == 0 {
			if err == nil {
				out = ArithExists
			}
			return out, 0, it, err
		}
	}
	s.setNewCAS(r, m.NewCAS, m.HasNewCAS)
	now := s.clock.Now()
	exp := s.m.exptime(r)
	it.TTL = -1
	for _, step := range m.Steps {
		switch step {
		case StepTouch:
			exp = s.clock.expiry(m.TTL)
		case StepVivify:
			if out == ArithCreated {
				exp = s.clock.expiry(m.VivifyTTL)
			}
		case StepReportTTL:
			it.TTL = ttlLeft(exp, now)
		}
	}
	s.setExptime(r, exp)
	it.CAS = s.reportCAS(r)
	return out, v, it, nil
}

// metaDelta applies o's delta to the counter r, checking in memcached's
// order: an empty value, then the CAS (r 0 on a mismatch), then the number.
// It returns the item now holding the value. The shard lock is held.
func (s *Store) metaDelta(sh *shard, r loc, h uint64, m *ArithOptions) (loc, uint64, error) {
	val := s.m.valueOf(r)
	if len(val) == 0 {
		return r, 0, ErrNonNumeric
	}
	if m.CAS != 0 && s.reportCAS(r) != m.CAS {
		return 0, 0, nil
	}
	cur, ok := protocol.ParseUint64(val)
	if !ok {
		return r, 0, ErrNonNumeric
	}
	v := cur + m.Delta
	if m.Incr {
		sh.ops.IncrHits++
		s.ops(sh, r).IncrHits++
	} else {
		sh.ops.DecrHits++
		s.ops(sh, r).DecrHits++
		v = cur - min(cur, m.Delta)
	}
	r, err := s.setCounter(sh, r, h, v)
	if err != nil {
		return r, 0, ErrOutOfMemory
	}
	return r, v, nil
}

func (s *Store) countArithMiss(sh *shard, incr bool) {
	if incr {
		sh.ops.IncrMisses++
	} else {
		sh.ops.DecrMisses++
	}
}
