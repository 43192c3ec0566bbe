package slab

import (
	"cmp"
	"slices"
)

// Page moves: memcached's slab reassignment. Once memory is full, a class
// only grows by taking a page from another. A move empties one page of the
// source class, chunk by chunk, without holding the class lock for long:
//
//  1. claim: under the source's lock, pick a page with no chunk being filled
//     (a reservation in flight would be lost), take its free chunks off the
//     free list and mark it moving, so that no chunk of it is handed out
//     again and chunks freed on it are not listed;
//  2. vacate: for each chunk of the page that holds an item, lock the item's
//     shard (blocking: the mover holds no class lock then), and copy a live
//     item into a free chunk of the same class, freeing the class's least
//     recently used item for it if need be (memcached's rescue), so that a
//     move costs the source its oldest items, not a page of random ones;
//  3. hand the empty page to the destination class.
//
// One move runs at a time (Store.moveMu). A caller that holds a shard lock
// only try-locks moveMu: the mover may be waiting for that very shard.

// movePage gives dst a page taken from another class. No class lock is held.
func (s *Store) movePage(dst *slabClass, held holding) bool {
	if held.shard >= 0 {
		if !s.moveMu.TryLock() {
			return false
		}
	} else {
		s.moveMu.Lock()
	}
	defer s.moveMu.Unlock()
	for _, src := range s.pageDonors(dst) {
		if s.movePageFrom(src, dst, held) {
			return true
		}
	}
	return false
}

// pageDonors are the classes that can give dst a page (a class keeps its
// last one), those whose least recently used item is oldest first.
func (s *Store) pageDonors(dst *slabClass) []*slabClass {
	now := s.clock.Now()
	type donor struct {
		c   *slabClass
		age uint32
	}
	var ds []donor
	for _, c := range s.slabs.classes[1:] {
		if c == dst {
			continue
		}
		c.mu.Lock()
		if len(c.pages) > 1 {
			ds = append(ds, donor{c, s.tailAge(c, now)})
		}
		c.mu.Unlock()
	}
	slices.SortStableFunc(ds, func(a, b donor) int { return cmp.Compare(b.age, a.age) })
	out := make([]*slabClass, len(ds))
	for i, d := range ds {
		out[i] = d.c
	}
	return out
}

// tailAge is the seconds since the last access of c's least recently used
// item. c.mu is held.
func (s *Store) tailAge(c *slabClass, now uint32) uint32 {
	if c.lru.tail == 0 {
		return 0
	}
	return now - s.m.u32(c.lru.tail, hdrAtime)
}

// movePageFrom moves one of src's pages to dst. No class lock is held; the
// caller holds moveMu.
func (s *Store) movePageFrom(src, dst *slabClass, held holding) bool {
	if src == nil || src == dst {
		return false
	}
	p, cut, ok := s.claimPage(src, held)
	if !ok {
		return false
	}
	base := p * s.arena.pageSize
	for i := 0; i < cut; i++ {
		s.vacate(src, refOf(base+i*src.size), held)
	}
	src.mu.Lock()
	src.pages = slices.DeleteFunc(src.pages, func(q int) bool { return q == p })
	src.moving = 0
	src.stats.PagesMoved++
	src.mu.Unlock()
	dst.mu.Lock()
	s.slabs.givePage(dst, p)
	dst.mu.Unlock()
	return true
}

// claimTries bounds how many of a class's pages a move looks at for one with
// no chunk being filled.
const claimTries = 4

// claimPage picks a page of c to empty and marks it moving, returning how
// many of its chunks were ever cut. It refuses when c has only one page, or
// when every page it looks at has a chunk being filled or holds the item
// the caller is using.
func (s *Store) claimPage(c *slabClass, held holding) (p, cut int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pages) < 2 || c.moving != 0 {
		return 0, 0, false
	}
	for i := 0; i < len(c.pages) && i < claimTries; i++ {
		p = c.pages[i]
		cut = c.chunksCut(p)
		if s.pageBusy(c, p, cut, held) {
			continue
		}
		c.moving = p
		if c.carvePage == p {
			c.carvePage, c.carveNext = 0, 0
		}
		s.dropFreeChunks(c, p)
		return p, cut, true
	}
	return 0, 0, false
}

// pageBusy reports whether page p of c has a chunk being filled, or the
// caller's pinned item. c.mu is held.
func (s *Store) pageBusy(c *slabClass, p, cut int, held holding) bool {
	if held.pin != 0 && s.slabs.pageOf(held.pin) == p {
		return true
	}
	base := p * s.arena.pageSize
	for i := 0; i < cut; i++ {
		if s.m.u8(refOf(base+i*c.size), hdrState) == itemAllocated {
			return true
		}
	}
	return false
}

// dropFreeChunks takes page p's chunks off c's free list. c.mu is held.
func (s *Store) dropFreeChunks(c *slabClass, p int) {
	var keep ref
	n := 0
	for r := c.free; r != 0; {
		next := s.m.ref(r, hdrHnext)
		if s.slabs.pageOf(r) != p {
			s.m.setRef(r, hdrHnext, keep)
			keep = r
			n++
		}
		r = next
	}
	c.free, c.nfree = keep, n
}

// vacate empties chunk r of c's moving page: nothing to do for a free
// chunk; a dead item is freed; a live one is copied to another chunk of c,
// or evicted when none can be had.
func (s *Store) vacate(c *slabClass, r ref, held holding) {
	i, ok := s.lockLinked(c, r, held, true)
	if !ok {
		return
	}
	sh := &s.shards[i]
	defer s.unlockShard(sh, held)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !s.live(r) {
		c.stats.Reclaimed++
		s.unlink(sh, r, true)
		return
	}
	if nr := s.rescueChunk(c, i, r); nr != 0 {
		s.relocate(sh, c, r, nr)
		c.stats.Rescues++
		return
	}
	s.countEviction(c, r, s.clock.Now())
	c.stats.EvictionsNomem++
	s.unlink(sh, r, true)
}

// rescueTries bounds how many LRU tail items a rescue frees looking for a
// chunk off the moving page.
const rescueTries = 4

// rescueChunk is a chunk of c, off its moving page, for item r of shard
// shardIndex: a free one, or the chunk of c's least recently used item,
// evicted for it. That shard and c.mu are held.
func (s *Store) rescueChunk(c *slabClass, shardIndex int, r ref) ref {
	keep := holding{shard: shardIndex, pin: r}
	for try := 0; try < rescueTries; try++ {
		if nr := s.slabs.take(c); nr != 0 {
			return nr
		}
		if !s.evict(c, keep) {
			return 0
		}
	}
	return s.slabs.take(c)
}

// relocate moves linked item r to chunk nr of the same class, keeping its
// place in the index and the LRU. sh and c.mu are held.
func (s *Store) relocate(sh *shard, c *slabClass, r, nr ref) {
	n := s.m.total(r)
	copy(s.m[nr.off():nr.off()+n], s.m[r.off():r.off()+n])
	sh.replace(s.m, r, nr, s.hashOf(r))
	c.lru.replace(s.m, r, nr)
	s.m.setU8(r, hdrState, itemFree) // its page is moving: not listed again
}

// lockLinked locks the shard of the item in chunk r of class c, and reports
// whether r holds a linked item, returning the shard's index; when it does
// not, nothing stays locked. The chunk is read before its shard is locked,
// so it may be changing: r counts as linked only if the index, under the
// lock, finds the key read at r. With block false the shard is only
// try-locked.
func (s *Store) lockLinked(c *slabClass, r ref, held holding, block bool) (int, bool) {
	if s.m.u8(r, hdrState) != itemLinked || hdrSize+s.m.klen(r) > c.size {
		return 0, false
	}
	key := s.m.keyOf(r)
	h := s.hash(key)
	i := shardOf(h)
	sh := &s.shards[i]
	switch {
	case i == held.shard:
	case block:
		sh.mu.Lock()
	case !sh.mu.TryLock():
		return 0, false
	}
	if sh.find(s.m, key, h) == r {
		return i, true
	}
	s.unlockShard(sh, held)
	return 0, false
}
