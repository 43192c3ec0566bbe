package store

// Item is what a read reports about an item, apart from its value.
type Item struct {
	Flags   uint32
	CAS     uint64
	Exptime uint32 // clock second it expires at; 0 never
	Atime   uint32 // clock second of the previous access
	Size    int    // bytes memcached's item would take: header, key and value
	Class   int
	Fetched bool // it had been read before this read
}

func (s *Store) itemOf(r loc) Item {
	it := Item{
		Flags:   s.m.flags(r),
		CAS:     s.m.cas(r),
		Exptime: s.m.exptime(r),
		Atime:   s.m.atime(r),
		Size:    s.m.klen(r) + s.m.vlen(r) + memcachedOverhead,
		Class:   s.classOf(r),
		Fetched: s.m.hasBit(r, bitFetched),
	}
	if s.cfg.DisableCAS {
		it.CAS = 0
	}
	return it
}

// lookup finds a live item, unlinking it if it has expired or been flushed.
// The shard lock is held.
func (s *Store) lookup(sh *shard, key []byte, h uint64) loc {
	r := s.find(sh, key, h)
	if r == 0 || s.live(r) {
		return r
	}
	if s.m.cas(r) < s.flushCAS.Load() {
		sh.ops.GetFlushed++
	} else {
		sh.ops.GetExpired++
	}
	s.unlink(sh, r, h)
	return 0
}

// access marks a read: the item is fetched, and its read frequency, which
// merge eviction keeps the most read items by, goes up. The shard lock is
// held.
func (s *Store) access(sh *shard, r loc, h uint64) {
	s.m.setBit(r, bitFetched)
	s.bump(sh, r, h)
}

// bump marks a use (a read, an incr, an add that found the item), as
// memcached's do_item_update does: it is not counted as fetched. The
// shard lock is held.
func (s *Store) bump(sh *shard, r loc, h uint64) {
	s.m.setU32(r, hdrAtime, s.clock.Now())
	if i := sh.findLoc(r, h); i >= 0 {
		if e := sh.slots[i]; e.freq() < freqCap {
			sh.slots[i] = e.withFreq(e.freq() + 1)
		}
	}
}

// freqCap is as often as an item's reads are counted: merge eviction's
// thresholds are small, and the count halves at each merge.
const freqCap = 127

// setExptime changes an item's expiry, and so maybe its segment's latest.
// The shard lock is held.
func (s *Store) setExptime(r loc, exp uint32) {
	s.m.setU32(r, hdrExptime, exp)
	s.arena.segs[segOf(r)].raiseExp(exp)
}

// Get appends the value of key to dst. With touch it also sets the item's
// expiry to exptime (gat). ok is false on a miss.
func (s *Store) Get(key, dst []byte, touch bool, exptime int64) (it Item, out []byte, ok bool) {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	if touch {
		sh.ops.TouchCmds++
	} else {
		sh.ops.GetCmds++
	}
	if r == 0 {
		if touch {
			sh.ops.TouchMisses++
		} else {
			sh.ops.GetMisses++
		}
		return it, dst, false
	}
	if touch {
		sh.ops.TouchHits++
		s.ops(sh, r).TouchHits++
		s.setExptime(r, s.clock.expiry(exptime))
	} else {
		sh.ops.GetHits++
		s.ops(sh, r).GetHits++
	}
	it = s.itemOf(r)
	s.access(sh, r, h)
	return it, append(dst, s.m.valueOf(r)...), true
}

// Touch sets a live item's expiry. It reports whether the item was found.
func (s *Store) Touch(key []byte, exptime int64) bool {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	sh.ops.TouchCmds++
	r := s.lookup(sh, key, h)
	if r == 0 {
		sh.ops.TouchMisses++
		return false
	}
	sh.ops.TouchHits++
	s.ops(sh, r).TouchHits++
	s.setExptime(r, s.clock.expiry(exptime))
	s.access(sh, r, h)
	return true
}

// GetWith reads o.Key's item, or with o.Vivify creates an empty one, applies
// o.Steps in order, hands out the recache token, bumps the item unless
// o.NoBump, and with o.Value appends its value to dst. found is false on a
// miss. With o.Partial it stops after the steps, as memcached does before
// it answers with an error: the token and the bump are skipped.
func (s *Store) GetWith(o *GetOptions, dst []byte) (it MetaItem, out []byte, found bool) {
	h := s.hash(o.Key)
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := s.lookup(sh, o.Key, h)
	created := false
	if r == 0 && o.Vivify {
		r = s.vivify(sh, o, h)
		created = r != 0
	}
	if r == 0 {
		sh.ops.GetCmds++
		sh.ops.GetMisses++
		return it, dst, false
	}
	before := s.itemOf(r)
	tokenSent := s.m.hasBit(r, bitWon)
	now := s.clock.Now()
	exp := before.Exptime
	won, touched := false, false
	it.TTL = -1
	for _, step := range o.Steps {
		switch step {
		case StepTouch:
			exp, touched = s.clock.expiry(o.TTL), true
		case StepVivify:
			if created {
				exp, won = s.clock.expiry(o.VivifyTTL), true
			}
		case StepRecache:
			if !tokenSent && !created && exp != 0 && exp < s.clock.expiry(o.RecacheTTL) {
				won = true
			}
		case StepReportTTL:
			it.TTL = ttlLeft(exp, now)
		}
	}
	s.setExptime(r, exp)
	if touched {
		sh.ops.TouchCmds++
		sh.ops.TouchHits++
		s.ops(sh, r).TouchHits++
	} else {
		sh.ops.GetCmds++
		sh.ops.GetHits++
		s.ops(sh, r).GetHits++
	}
	if o.Partial {
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
	if o.Value {
		dst = append(dst, s.m.valueOf(r)...)
	}
	if !o.NoBump {
		s.access(sh, r, h)
	}
	return it, dst, true
}

// ttlLeft is what a t flag shows: -1 for no expiry, else the seconds left,
// in memcached's unsigned 32-bit arithmetic.
func ttlLeft(exp, now uint32) int64 {
	if exp == 0 {
		return -1
	}
	return int64(exp - now)
}

// vivify links an empty item for o.Key, as a vivifying read does on a miss, and
// returns it, or 0 when there is no memory for it (memcached then answers
// as for a miss). Like memcached, it does not mark a base64 key as such.
// The shard lock is held.
func (s *Store) vivify(sh *shard, o *GetOptions, h uint64) loc {
	r, err := s.alloc(o.Key, 0, 0, 0, holding{shard: shardOf(h)})
	if err != nil {
		return 0
	}
	if s.link(sh, r, h) != nil {
		return 0
	}
	if o.HasNewCAS {
		s.m.setCAS(r, o.NewCAS)
	}
	return r
}

// Peek reports key's item without counting or touching it: its header,
// whether its key was sent base64-encoded, and the clock now.
func (s *Store) Peek(key []byte) (it Item, binary bool, now uint32, ok bool) {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	if r == 0 {
		return it, false, 0, false
	}
	return s.itemOf(r), s.m.hasBit(r, bitKeyBinary), s.clock.Now(), true
}
