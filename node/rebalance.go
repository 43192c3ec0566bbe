package node

// Page rebalancing: memcached's slab automover. Once memory is full, a class
// only grows by taking a page from another. Every second the store looks for
// a class that is evicting items much younger than another class's oldest
// item, and moves one page from the old class to the young one, so that
// memory follows the sizes the workload stores now rather than those it
// stored first.

// automoveRatio is how much younger (as a fraction of the oldest class's tail
// age) an evicting class's tail must be before it takes a page, as
// memcached's slab_automove_ratio.
const automoveRatio = 0.8

// classAge is a class's state as the rebalancer sees it.
type classAge struct {
	c       *slabClass
	age     uint32 // seconds since the tail item's last access
	pages   int
	evicted uint64
}

// rebalance moves at most one page. lastEvicted holds each class's eviction
// count at the previous call, and is updated.
func (s *Store) rebalance(lastEvicted []uint64) {
	now := s.clock.Now()
	var young, old *classAge
	var ages []classAge
	for _, c := range s.slabs.classes[1:] {
		c.mu.Lock()
		a := classAge{c: c, pages: len(c.pages), evicted: c.stats.evicted}
		if c.lru.tail != 0 {
			a.age = now - s.m.u32(c.lru.tail, hdrAtime)
		}
		c.mu.Unlock()
		ages = append(ages, a)
	}
	for i := range ages {
		a := &ages[i]
		evicting := a.evicted > lastEvicted[a.c.id]
		lastEvicted[a.c.id] = a.evicted
		if evicting && (young == nil || a.age < young.age) {
			young = a
		}
		if a.pages > 1 && (old == nil || a.age > old.age) {
			old = a
		}
	}
	if young == nil || old == nil || young.c == old.c {
		return
	}
	if float64(young.age) >= float64(old.age)*automoveRatio {
		return
	}
	young.c.mu.Lock()
	s.movePageFrom(old.c, young.c, holdingNothing)
	young.c.mu.Unlock()
}
