package slab

// Item is what a read reports about an item, apart from its value.
type Item struct {
	Flags   uint32
	CAS     uint64
	Exptime uint32 // clock second it expires at; 0 never
	Atime   uint32 // clock second of the previous access
	Size    int    // bytes of chunk used: header, key and value
	Class   int
	Fetched bool // it had been read before this read
}

func (s *Store) itemOf(r ref) Item {
	it := Item{
		Flags:   s.m.u32(r, hdrFlags),
		CAS:     s.m.cas(r),
		Exptime: s.m.u32(r, hdrExptime),
		Atime:   s.m.u32(r, hdrAtime),
		Size:    s.m.total(r),
		Class:   s.m.class(r),
		Fetched: s.m.hasBit(r, bitFetched),
	}
	if s.cfg.DisableCAS {
		it.CAS = 0
	}
	return it
}

// lookup finds a live item, unlinking it if it has expired or been flushed.
// The shard lock is held.
func (s *Store) lookup(sh *shard, key []byte, hash uint32) ref {
	r := sh.find(s.m, key, hash)
	if r == 0 || s.live(r) {
		return r
	}
	if s.m.cas(r) < s.flushCAS.Load() {
		sh.stats.GetFlushed++
	} else {
		sh.stats.GetExpired++
	}
	s.unlink(sh, r, false)
	return 0
}

// access marks a read. As in memcached, an item must be read twice to earn
// a second chance at the LRU tail (the active bit), and once more after each
// second chance: read-once items, the common case of a cache-aside fill,
// must not outlive items written after them. The shard lock is held.
func (s *Store) access(r ref) {
	if !s.m.hasBit(r, bitFetched) {
		s.m.setBit(r, bitFetched)
		s.m.setU32(r, hdrAtime, s.clock.Now())
		return
	}
	s.bump(r)
}

// bump marks a use that is not a read (an incr, an add that found the
// item), as memcached's do_item_update does: a second chance at the LRU
// tail, without counting the item as fetched. The shard lock is
// held.
func (s *Store) bump(r ref) {
	s.m.setBit(r, bitActive)
	s.m.setU32(r, hdrAtime, s.clock.Now())
}

// Get appends the value of key to dst. With touch it also sets the item's
// expiry to exptime (gat). ok is false on a miss.
func (s *Store) Get(key, dst []byte, touch bool, exptime int64) (it Item, out []byte, ok bool) {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	if touch {
		sh.stats.TouchCmds++
	} else {
		sh.stats.GetCmds++
	}
	if r == 0 {
		if touch {
			sh.stats.TouchMisses++
		} else {
			sh.stats.GetMisses++
		}
		return it, dst, false
	}
	if touch {
		sh.stats.TouchHits++
		s.ops(sh, r).TouchHits++
		s.m.setU32(r, hdrExptime, s.clock.expiry(exptime))
	} else {
		sh.stats.GetHits++
		s.ops(sh, r).GetHits++
	}
	it = s.itemOf(r)
	s.access(r)
	return it, append(dst, s.m.valueOf(r)...), true
}

// Touch sets a live item's expiry. It reports whether the item was found.
func (s *Store) Touch(key []byte, exptime int64) bool {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	sh.stats.TouchCmds++
	r := s.lookup(sh, key, h)
	if r == 0 {
		sh.stats.TouchMisses++
		return false
	}
	sh.stats.TouchHits++
	s.ops(sh, r).TouchHits++
	s.m.setU32(r, hdrExptime, s.clock.expiry(exptime))
	s.access(r)
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
		sh.stats.GetCmds++
		sh.stats.GetMisses++
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
	s.m.setU32(r, hdrExptime, exp)
	if touched {
		sh.stats.TouchCmds++
		sh.stats.TouchHits++
		s.ops(sh, r).TouchHits++
	} else {
		sh.stats.GetCmds++
		sh.stats.GetHits++
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
		s.access(r)
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
func (s *Store) vivify(sh *shard, o *GetOptions, h uint32) ref {
	r, err := s.alloc(itemSize(len(o.Key), 0), holding{shard: shardOf(h)})
	if err != nil {
		return 0
	}
	s.m.initItem(r, s.m.class(r), o.Key, 0, 0, 0)
	s.link(sh, r)
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
