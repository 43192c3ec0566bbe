package store

// holding is what an allocating caller holds: the index of the shard whose
// lock it has (-1 for none), and an item it is still reading, whose
// segment eviction must leave alone.
type holding struct {
	shard int
	pin   loc
}

var holdingNothing = holding{shard: -1}

// memcachedOverhead is what memcached's item adds to key and value: a
// 48-byte header, a CAS, the key's NUL and the value's CRLF. -I bounds
// that sum, so that the items memcached takes are the items shoal takes.
const memcachedOverhead = 48 + 8 + 1 + 2

// alloc writes the header and key of a new item into the segment its
// expiry belongs to, evicting if it must and may, and returns it pinned:
// the caller links it or cancels it, and then unpins it.
func (s *Store) alloc(key []byte, vlen int, flags, exp uint32, held holding) (loc, error) {
	if len(key)+vlen+memcachedOverhead > s.cfg.MaxItemSize {
		return 0, ErrTooLarge
	}
	n := itemSize(len(key), vlen, flags)
	if n > segSize {
		return s.allocRun(key, vlen, flags, exp, held)
	}
	b := &s.buckets[bucketOf(exp, s.clock.Now())]
	for {
		b.mu.Lock()
		if r, ok := s.append(b, b.active, key, vlen, flags, exp); ok {
			b.mu.Unlock()
			return r, nil
		}
		b.mu.Unlock()
		id, err := s.newSegments(1, held)
		if err != nil {
			s.countOutOfMemory(s.classFor(len(key) + vlen + memcachedOverhead))
			return 0, err
		}
		b.mu.Lock()
		if r, ok := s.append(b, b.active, key, vlen, flags, exp); ok {
			b.mu.Unlock() // another caller brought a segment meanwhile
			s.segMu.Lock()
			s.arena.release(id)
			s.segMu.Unlock()
			return r, nil
		}
		s.chain(b, id)
		r, _ := s.append(b, id, key, vlen, flags, exp)
		// Keep appending to whichever segment has more room left: an item
		// of most of a segment does not seal a segment still half empty.
		if b.active == 0 || s.arena.segs[id].write.Load() < s.arena.segs[b.active].write.Load() {
			s.segMu.Lock()
			b.active = id
			s.segMu.Unlock()
		}
		b.mu.Unlock()
		return r, nil
	}
}

// append writes an item into segment id if it has room. b.mu is held.
func (s *Store) append(b *ttlBucket, id int32, key []byte, vlen int, flags, exp uint32) (loc, bool) {
	if id == 0 {
		return 0, false
	}
	sg := &s.arena.segs[id]
	w := sg.write.Load()
	n := uint32(itemSize(len(key), vlen, flags))
	if w+n > segSize {
		return 0, false
	}
	r := loc(int(id)*segSize + int(w))
	s.m.initItem(r, key, vlen, flags, exp)
	sg.raiseExp(exp)
	sg.pins.Add(1)
	sg.write.Store(w + n) // publishes the header to segment walkers
	return r, true
}

// allocRun gives an item larger than a segment a run of its own, chained
// in its TTL bucket like any segment.
func (s *Store) allocRun(key []byte, vlen int, flags, exp uint32, held holding) (loc, error) {
	n := itemSize(len(key), vlen, flags)
	id, err := s.newSegments((n+segSize-1)/segSize, held)
	if err != nil {
		s.countOutOfMemory(s.classFor(len(key) + vlen + memcachedOverhead))
		return 0, err
	}
	b := &s.buckets[bucketOf(exp, s.clock.Now())]
	sg := &s.arena.segs[id]
	r := loc(int(id) * segSize)
	s.m.initItem(r, key, vlen, flags, exp)
	sg.raiseExp(exp)
	sg.pins.Add(1)
	sg.write.Store(uint32(min(n, segSize))) // one item: the walk stops after it
	s.chain(b, id)
	return r, nil
}

// unpin ends an allocation: the item is linked, or dead.
func (s *Store) unpin(r loc) { s.arena.segs[segOf(r)].pins.Add(-1) }

// newSegments takes n free segments in a row, evicting until there are.
func (s *Store) newSegments(n int, held holding) (int32, error) {
	if n == 1 {
		s.compactIfWasteful(held)
	}
	for tries := 0; ; tries++ {
		s.segMu.Lock()
		id := s.arena.take(n, 0)
		s.segMu.Unlock()
		if id != 0 {
			return id, nil
		}
		if tries > maxEvictTries || !s.evict(held) {
			return 0, ErrOutOfMemory
		}
	}
}

// maxEvictTries bounds how many segments one allocation may free before it
// gives up: enough for a -I 1g item in a cache of small ones.
const maxEvictTries = 1 << 12

// chain appends segment id to b's chain, newest last.
func (s *Store) chain(b *ttlBucket, id int32) {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	s.chainLocked(b, id)
}

// chainLocked is chain with segMu held.
func (s *Store) chainLocked(b *ttlBucket, id int32) {
	sg := &s.arena.segs[id]
	sg.bucket = b.id
	s.seq++
	sg.seq, sg.created = s.seq, s.clock.Now()
	sg.prev, sg.next = b.tail, 0
	if b.tail != 0 {
		s.arena.segs[b.tail].next = id
	} else {
		b.head = id
	}
	b.tail = id
}

// unchain takes segment id out of its bucket's chain. segMu is held.
func (s *Store) unchain(id int32) {
	sg := &s.arena.segs[id]
	b := &s.buckets[sg.bucket]
	if sg.prev != 0 {
		s.arena.segs[sg.prev].next = sg.next
	} else {
		b.head = sg.next
	}
	if sg.next != 0 {
		s.arena.segs[sg.next].prev = sg.prev
	} else {
		b.tail = sg.prev
	}
	sg.prev, sg.next = 0, 0
}
