package node

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

// alloc returns an allocated chunk for an item of n bytes, evicting if it
// must and may.
func (s *Store) alloc(n int, held holding) (ref, error) {
	c := s.slabs.classFor(n)
	// memcached's item holds a 48-byte header, a CAS, the key with a NUL and
	// the value with its CRLF: 59 bytes more than key and value.
	if c == nil || n-hdrSize+59 > s.cfg.MaxItemSize {
		return 0, ErrTooLarge
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := s.slabs.take(c)
	if r == 0 && s.slabs.grow(c) {
		r = s.slabs.take(c)
	}
	if r == 0 && s.reclaimTail(c, held, false) {
		r = s.slabs.take(c)
	}
	if r == 0 && !s.cfg.DisableEvictions && s.reclaimTail(c, held, true) {
		r = s.slabs.take(c)
	}
	if r == 0 && !s.cfg.DisableEvictions && s.movePage(c, held) {
		r = s.slabs.take(c)
	}
	if r == 0 {
		c.stats.outOfMemory++
		return 0, ErrOutOfMemory
	}
	s.m.setU8(r, hdrState, itemAllocated)
	s.m.setU8(r, hdrClass, uint8(c.id))
	return r, nil
}

// reclaimTail frees one item from c's LRU tail: an expired or flushed one,
// or, with evict, the least recently used one that was not read since it
// last reached the tail. Items read since get a second chance at the head.
// c.mu is held; victims' shards are only try-locked, as the lock order is
// shard before class.
func (s *Store) reclaimTail(c *slabClass, held holding, evict bool) bool {
	now := s.clock.Now()
	r := c.lru.tail
	search := reclaimSearch
	if evict {
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
			c.stats.reclaimed++
			if !s.m.hasBit(r, bitFetched) {
				c.stats.expiredUnfetched++
			}
			s.unlink(sh, r, true)
			s.unlockShard(sh, held)
			return true
		case !evict:
		case s.m.hasBit(r, bitActive):
			s.m.clearBit(r, bitActive)
			c.lru.remove(s.m, r)
			c.lru.pushHead(s.m, r)
		default:
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

func (s *Store) countEviction(c *slabClass, r ref, now uint32) {
	c.stats.evicted++
	if s.m.u32(r, hdrExptime) != 0 {
		c.stats.evictedNonzero++
	}
	if !s.m.hasBit(r, bitFetched) {
		c.stats.evictedUnfetched++
	}
	c.stats.evictedTime = now - s.m.u32(r, hdrAtime)
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

// movePage takes a page from the class that owns the most and gives it to
// dst, evicting the items on it, so that memory follows the workload's item
// sizes instead of staying where the first items put it (memcached's slab
// reassignment). dst.mu is held; the source class and the items' shards are
// only try-locked, and the move is abandoned if any of them is busy.
func (s *Store) movePage(dst *slabClass, held holding) bool {
	return s.movePageFrom(s.pageDonor(dst), dst, held)
}

// movePageFrom moves src's oldest page to dst, evicting its items. dst.mu
// is held.
func (s *Store) movePageFrom(src, dst *slabClass, held holding) bool {
	if src == nil || src == dst || !src.mu.TryLock() {
		return false
	}
	defer src.mu.Unlock()
	if len(src.pages) < 2 {
		return false // a class keeps its last page
	}
	p := src.pages[0]
	if !s.emptyPage(src, p, held) {
		return false
	}
	src.pages = src.pages[1:]
	if src.carvePage == p {
		src.carvePage, src.carveNext = 0, 0
	}
	src.stats.pagesMoved++
	s.slabs.givePage(dst, p)
	return true
}

// pageDonor is the class with the most pages, other than dst, if it has
// more than one: a class keeps its last page.
func (s *Store) pageDonor(dst *slabClass) *slabClass {
	var counts [256]int
	s.slabs.pageMu.Lock()
	for p := 1; p < s.slabs.nextPage; p++ {
		counts[s.slabs.pageClass[p]]++
	}
	s.slabs.pageMu.Unlock()
	var best *slabClass
	most := 1
	for id, n := range counts {
		if id != dst.id && n > most {
			best, most = s.slabs.classes[id], n
		}
	}
	return best
}

// emptyPage evicts every item on page p of class c and takes its free
// chunks off c's free list. c.mu is held. It fails, leaving what it already
// freed on the free list, if a chunk is being filled or an item's shard is
// busy.
func (s *Store) emptyPage(c *slabClass, p int, held holding) bool {
	base := p * s.arena.pageSize
	now := s.clock.Now()
	for i := 0; i < c.chunksCut(p); i++ {
		r := refOf(base + i*c.size)
		switch s.m.u8(r, hdrState) {
		case itemAllocated:
			return false
		case itemLinked:
			if r == held.pin {
				return false
			}
			sh, ok := s.lockShardOf(r, held)
			if !ok {
				return false
			}
			if s.live(r) {
				s.countEviction(c, r, now)
			} else {
				c.stats.reclaimed++
			}
			s.unlink(sh, r, true)
			s.unlockShard(sh, held)
		}
	}
	// Rebuild the free list without this page's chunks.
	lo, hi := refOf(base), refOf(base+s.arena.pageSize)
	var keep ref
	n := 0
	for r := c.free; r != 0; {
		next := s.m.ref(r, hdrHnext)
		if r < lo || r >= hi {
			s.m.setRef(r, hdrHnext, keep)
			keep = r
			n++
		}
		r = next
	}
	c.free, c.nfree = keep, n
	return true
}
