package slab

// How far up from an LRU tail an allocation looks for an expired item to
// reclaim, and for one to evict, before it gives up (memcached's
// lru_pull_tail searches 5).
const (
	reclaimSearch = 5
	evictSearch   = 50
)

// holding is what an allocating caller holds: the index of the shard whose
// lock it has (-1 for none), and an item of that shard it is still using,
// which eviction must leave alone.
type holding struct {
	shard int
	pin   ref
}

var holdingNothing = holding{shard: -1}

// allocAttempts bounds how often an allocation takes a page from another
// class before it reports out of memory: each move hands the class a whole
// page, so a second is only needed when others took that page's chunks first.
const allocAttempts = 3

// alloc returns an allocated chunk for an item of n bytes, evicting if it
// must and may. A class with nothing left to evict takes a page from
// another class, so a store that fits -I always succeeds or evicts.
func (s *Store) alloc(n int, held holding) (ref, error) {
	c := s.slabs.classFor(n)
	// memcached's item holds a 48-byte header, a CAS, the key with a NUL and
	// the value with its CRLF: 59 bytes more than key and value.
	if c == nil || n-hdrSize+59 > s.cfg.MaxItemSize {
		return 0, ErrTooLarge
	}
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		if r := s.takeOrEvict(c, held); r != 0 {
			s.m.setU8(r, hdrState, itemAllocated)
			s.m.setU8(r, hdrClass, uint8(c.id))
			c.mu.Unlock()
			return r, nil
		}
		if s.cfg.DisableEvictions || attempt == allocAttempts {
			c.stats.OutOfMemory++
			c.mu.Unlock()
			return 0, ErrOutOfMemory
		}
		c.mu.Unlock()
		if s.cfg.NoPageMoves || !s.movePage(c, held) {
			attempt = allocAttempts - 1 // one last look: another caller may have freed a chunk
		}
	}
}

// takeOrEvict takes a chunk of c: a free one, one of a new page, an expired
// item's or, if evictions are on, the least recently used item's. c.mu is
// held.
func (s *Store) takeOrEvict(c *slabClass, held holding) ref {
	if r := s.slabs.take(c); r != 0 {
		return r
	}
	if s.slabs.grow(c) || s.reclaimTail(c, held, reclaimDead) ||
		!s.cfg.DisableEvictions && s.evict(c, held) {
		return s.slabs.take(c)
	}
	return 0
}

// How far reclaimTail may go: only dead (expired or flushed) items, or the
// least recently used item too, giving read items a second chance, or any
// item, second chance or not.
type reclaimMode uint8

const (
	reclaimDead reclaimMode = iota
	evictCold
	evictAny
)

// evict frees one item from c's tail, dead or alive. When every item the
// search reaches was read since it last came to the tail, they all get their
// second chance and the search runs again over what follows, taking any
// item this time, so that a class with items always evicts one. c.mu is
// held.
func (s *Store) evict(c *slabClass, held holding) bool {
	return s.reclaimTail(c, held, evictCold) || s.reclaimTail(c, held, evictAny)
}

// reclaimTail frees one item from c's LRU tail: an expired or flushed one,
// or, as mode allows, the least recently used one. c.mu is held; victims'
// shards are only try-locked, as the lock order is shard before class.
func (s *Store) reclaimTail(c *slabClass, held holding, mode reclaimMode) bool {
	now := s.clock.Now()
	r := c.lru.tail
	search := reclaimSearch
	if mode != reclaimDead {
		search = evictSearch
	}
	for tries := 0; r != 0 && tries < search; tries++ {
		prev := s.m.ref(r, hdrPrev)
		sh, ok := s.lockShardOf(r, held)
		if ok && r == held.pin {
			ok = false // the caller holds this shard, so nothing to unlock
		}
		if !ok {
			r = prev
			continue
		}
		switch {
		case !s.live(r):
			c.stats.Reclaimed++
			if !s.m.hasBit(r, bitFetched) {
				c.stats.ExpiredUnfetched++
			}
			s.unlink(sh, r, true)
			s.unlockShard(sh, held)
			return true
		case mode == reclaimDead:
		case mode == evictCold && s.m.hasBit(r, bitActive):
			s.m.clearBit(r, bitActive)
			c.lru.remove(s.m, r)
			c.lru.pushHead(s.m, r)
		default:
			s.m.clearBit(r, bitActive)
			s.countEviction(c, r, now)
			s.unlink(sh, r, true)
			s.unlockShard(sh, held)
			return true
		}
		s.unlockShard(sh, held)
		r = prev
	}
	return false
}

// Eviction is an evicted item as memcached's watch evictions reports it.
type Eviction struct {
	Key        []byte // valid only during the call
	Fetched    bool   // read since it was stored
	TTL        int64  // seconds it had left, -1 for none
	LastAccess uint32 // seconds since it was last read or written
	Class      int
	Size       int // value bytes
}

func (s *Store) countEviction(c *slabClass, r ref, now uint32) {
	if f := s.cfg.OnEvict; f != nil {
		ttl := int64(-1)
		if exp := s.m.u32(r, hdrExptime); exp != 0 {
			ttl = int64(exp) - int64(now)
		}
		f(Eviction{Key: s.m.keyOf(r), Fetched: s.m.hasBit(r, bitFetched), TTL: ttl,
			LastAccess: now - s.m.u32(r, hdrAtime), Class: c.id, Size: s.m.vlen(r)})
	}
	c.stats.Evicted++
	if s.m.u32(r, hdrExptime) != 0 {
		c.stats.EvictedNonzero++
	}
	if !s.m.hasBit(r, bitFetched) {
		c.stats.EvictedUnfetched++
	}
	c.stats.EvictedTime = now - s.m.u32(r, hdrAtime)
}

// lockShardOf try-locks the shard of a linked item, unless the caller
// already holds it.
func (s *Store) lockShardOf(r ref, held holding) (*shard, bool) {
	i := shardOf(s.hashOf(r))
	sh := &s.shards[i]
	if i == held.shard {
		return sh, true
	}
	return sh, sh.mu.TryLock()
}

func (s *Store) unlockShard(sh *shard, held holding) {
	if held.shard < 0 || sh != &s.shards[held.shard] {
		sh.mu.Unlock()
	}
}
