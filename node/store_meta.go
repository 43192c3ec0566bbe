package node

import "github.com/shoal-cache/shoal/protocol"

// The meta commands act on an item under its shard lock from lookup to
// reply, so that flags are applied in the order they were sent (a t flag
// reports the TTL as a T before it left it) and so that exactly one client
// wins the right to recache an item (memcached's "stampede protection"):
// the recache token, bitWon, is handed out once for a missing item
// vivified by N, an item whose TTL fell below R, or an item marked stale;
// until it is handed back by invalidating the item again, later clients
// are told Z.

// MetaGet serves mg: it finds m.Key's item, or with N creates an empty one,
// applies T, N and R, hands out the recache token, bumps the item unless u,
// and with v appends its value to dst. found is false on a miss. When
// m.LongOpaque is set it stops at that flag, as memcached does before it
// answers with an error: later flags, the token and the bump are skipped.
func (s *Store) MetaGet(m *protocol.Meta, dst []byte) (it protocol.MetaItem, out []byte, found bool) {
	h := s.hash(m.Key)
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := s.lookup(sh, m.Key, h)
	created := false
	if r == 0 && m.Vivify {
		r = s.vivify(sh, m, h)
		created = r != 0
	}
	if r == 0 {
		sh.stats.getCmds++
		sh.stats.getMisses++
		return it, dst, false
	}
	before := s.itemOf(r)
	tokenSent := s.m.hasBit(r, bitWon)
	now := s.clock.Now()
	exp := before.Exptime
	won, touched := false, false
	it.TTL = -1
	for _, f := range m.Tokens[:s.metaEnd(m)] {
		switch f[0] {
		case 'T':
			exp, touched = s.clock.expiry(int64(m.TTL)), true
		case 'N':
			if created {
				exp, won = s.clock.expiry(int64(m.VivifyTTL)), true
			}
		case 'R':
			if !tokenSent && !created && exp != 0 && exp < s.clock.expiry(int64(m.RecacheTTL)) {
				won = true
			}
		case 't':
			it.TTL = ttlLeft(exp, now)
		}
	}
	s.m.setU32(r, hdrExptime, exp)
	if touched {
		sh.stats.touchCmds++
		sh.stats.touchHits++
	} else {
		sh.stats.getCmds++
		sh.stats.getHits++
	}
	if m.LongOpaque >= 0 {
		return it, dst, true
	}
	stale := s.m.hasBit(r, bitStale)
	won = won || (stale && !tokenSent)
	if won {
		s.m.setBit(r, bitWon)
	}
	it.Size, it.Flags, it.CAS = s.m.vlen(r), before.Flags, before.CAS
	it.LastAccess, it.Fetched = now-before.Atime, before.Fetched
	it.KeyBinary = s.m.hasBit(r, bitKeyBinary)
	it.TokenSent, it.Stale, it.Won = tokenSent, stale, won
	if m.Value {
		dst = append(dst, s.m.valueOf(r)...)
	}
	if !m.NoBump {
		s.access(r)
	}
	return it, dst, true
}

// metaEnd is how many of m's flags a reply loop acts on.
func (s *Store) metaEnd(m *protocol.Meta) int {
	if m.LongOpaque >= 0 {
		return m.LongOpaque
	}
	return len(m.Tokens)
}

// ttlLeft is what a t flag shows: -1 for no expiry, else the seconds left,
// in memcached's unsigned 32-bit arithmetic.
func ttlLeft(exp, now uint32) int64 {
	if exp == 0 {
		return -1
	}
	return int64(exp - now)
}

// vivify links an empty item for m.Key, as mg's N does on a miss, and
// returns it, or 0 when there is no memory for it (memcached then answers
// as for a miss). Like memcached, it does not mark a base64 key as such.
// The shard lock is held.
func (s *Store) vivify(sh *shard, m *protocol.Meta, h uint32) ref {
	r, err := s.alloc(itemSize(len(m.Key), 0), holding{shard: shardOf(h)})
	if err != nil {
		return 0
	}
	s.m.initItem(r, s.m.class(r), m.Key, 0, 0, 0)
	s.link(sh, r)
	s.setNewCAS(r, m)
	return r
}

// setNewCAS gives an item m's E CAS, if it has one, instead of the next
// CAS link or a change drew. The shard lock is held.
func (s *Store) setNewCAS(r ref, m *protocol.Meta) {
	if m.HasNewCAS {
		s.m.setCAS(r, m.NewCAS)
	}
}

// MetaCommit stores a filled reservation for ms, in m's mode. With I, a C
// CAS older than the item's stores the value anyway, marked stale and
// keeping the item's expiry and recache token, as memcached does; E gives
// the stored item that CAS. On Stored it returns the new CAS.
func (s *Store) MetaCommit(res Reservation, m *protocol.Meta) (Result, uint64, error) {
	mode := m.StoreMode()
	cas := m.CAS
	if mode == protocol.ModeAdd {
		cas = 0 // memcached's add never compares
	}
	if m.Base64 {
		s.m.setBit(res.r, bitKeyBinary)
	}
	sh := &s.shards[shardOf(res.hash)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if m.Invalidate && mode == protocol.ModeCAS && cas != 0 {
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
	s.setNewCAS(r, m)
	return Stored, s.reportCAS(r), nil
}

// MetaDelete serves md: it removes m.Key's item, or with I marks it stale
// instead, giving it a new CAS (or E's), the T expiry if given, and taking
// back the recache token so that the next mg wins it. With C it acts only
// on an item of that CAS. It returns Stored when it did either.
func (s *Store) MetaDelete(m *protocol.Meta) Result {
	h := s.hash(m.Key)
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := s.lookup(sh, m.Key, h)
	switch {
	case r == 0:
		sh.stats.deleteMisses++
		return NotFound
	case m.HasCAS && s.reportCAS(r) != m.CAS:
		sh.stats.deleteMisses++
		return Exists
	case m.Invalidate:
		if m.HasTTL {
			s.m.setU32(r, hdrExptime, s.clock.expiry(int64(m.TTL)))
		}
		s.m.setBit(r, bitStale)
		s.m.clearBit(r, bitWon)
		s.m.setCAS(r, s.cas.Add(1))
		s.setNewCAS(r, m)
		return Stored
	}
	sh.stats.deleteHits++
	s.unlink(sh, r, false)
	return Stored
}

// ArithOutcome is how ma went, apart from errors.
type ArithOutcome uint8

// Outcomes of MetaArith.
const (
	ArithChanged  ArithOutcome = iota // an existing counter was changed
	ArithCreated                      // N created the counter
	ArithNotFound                     // a miss without N
	ArithExists                       // the item's CAS was not C's
)

// MetaArith serves ma: it increments or decrements m.Key's counter as incr
// and decr do, or with N creates it holding J, checks C (0 means none),
// gives the changed item E's CAS, then applies T and N in flag order. It
// fails with ErrNonNumeric, or ErrOutOfMemory (with ArithCreated when the
// memory was for a new counter).
func (s *Store) MetaArith(m *protocol.Meta) (out ArithOutcome, v uint64, it protocol.MetaItem, err error) {
	h := s.hash(m.Key)
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := s.lookup(sh, m.Key, h)
	if r == 0 {
		if !m.Vivify {
			s.countArithMiss(sh, m.Incr())
			return ArithNotFound, 0, it, nil
		}
		out, v = ArithCreated, m.Initial
		if r, err = s.storeCounter(sh, m.Key, h, v, 0, 0); err != nil {
			return out, 0, it, ErrOutOfMemory
		}
	} else {
		out = ArithChanged
		if r, v, err = s.metaDelta(sh, r, m); err != nil || r == 0 {
			if err == nil {
				out = ArithExists
			}
			return out, 0, it, err
		}
	}
	s.setNewCAS(r, m)
	now := s.clock.Now()
	exp := s.m.u32(r, hdrExptime)
	it.TTL = -1
	for _, f := range m.Tokens[:s.metaEnd(m)] {
		switch f[0] {
		case 'T':
			exp = s.clock.expiry(int64(m.TTL))
		case 'N':
			if out == ArithCreated {
				exp = s.clock.expiry(int64(m.VivifyTTL))
			}
		case 't':
			it.TTL = ttlLeft(exp, now)
		}
	}
	s.m.setU32(r, hdrExptime, exp)
	it.CAS, it.KeyBinary = s.reportCAS(r), m.Base64
	return out, v, it, nil
}

// metaDelta applies ma's delta to the counter r, checking in memcached's
// order: an empty value, then the CAS (r 0 on a mismatch), then the number.
// It returns the item now holding the value. The shard lock is held.
func (s *Store) metaDelta(sh *shard, r ref, m *protocol.Meta) (ref, uint64, error) {
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
	if m.Incr() {
		sh.stats.incrHits++
	} else {
		sh.stats.decrHits++
		v = cur - min(cur, m.Delta)
	}
	r, err := s.setCounter(sh, r, v)
	if err != nil {
		return r, 0, ErrOutOfMemory
	}
	return r, v, nil
}

func (s *Store) countArithMiss(sh *shard, incr bool) {
	if incr {
		sh.stats.incrMisses++
	} else {
		sh.stats.decrMisses++
	}
}

// MetaDebug reports key's item for me without counting or touching it:
// its header, whether its key was sent base64-encoded, and the clock now.
func (s *Store) MetaDebug(key []byte) (it Item, binary bool, now uint32, ok bool) {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	if r == 0 {
		return it, false, 0, false
	}
	return s.itemOf(r), s.m.hasBit(r, bitKeyBinary), s.clock.Now(), true
}
