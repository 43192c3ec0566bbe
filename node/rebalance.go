package node

// Page rebalancing: memcached 1.6's slab automover (slab_automove=1). Once
// memory is full, a class only grows by taking a page from another. Every
// second the store samples each class's tail age, evictions and growth into
// a window of the last automoveWindow seconds; when the youngest class that
// keeps evicting is much younger than the oldest class that can spare a
// page, one page moves from the old class to the young one. Decisions wait
// for a full window and look at window averages, so a burst of one size does
// not tear pages away from the classes that hold the rest of the working set
// (a page move evicts that class's oldest items).

const (
	// automoveRatio is how much younger (as a fraction of the oldest class's
	// tail age) an evicting class's tail must be before it takes a page, as
	// memcached's slab_automove_ratio.
	automoveRatio = 0.8
	// automoveWindow is how many one-second samples a decision looks at, as
	// memcached's slab_automove_window.
	automoveWindow = 30
	// automoveMinPages is how many pages a source class must have more than.
	automoveMinPages = 2
)

// classSample is one class's state in one second.
type classSample struct {
	age          uint32  // seconds since the tail item's last access
	evictedShare float64 // this class's share of the second's evictions
	evicted      bool    // it evicted this second
}

// automover is the rebalancer's memory: the window of samples per class and
// the counters at the previous sample. Only the tick goroutine uses it.
type automover struct {
	samples     [][automoveWindow]classSample // by class id
	lastEvicted []uint64
	ticks       int
}

func newAutomover(classes int) *automover {
	return &automover{samples: make([][automoveWindow]classSample, classes),
		lastEvicted: make([]uint64, classes)}
}

// classNow is what a sample reads of a class, under its lock.
type classNow struct {
	c       *slabClass
	age     uint32
	pages   int
	evicted uint64
}

// rebalance takes this second's sample and moves at most one page.
func (s *Store) rebalance(a *automover) {
	now := s.clock.Now()
	var cur []classNow
	var evictedTotal uint64
	for _, c := range s.slabs.classes[1:] {
		c.mu.Lock()
		n := classNow{c: c, age: s.tailAge(c, now), pages: len(c.pages), evicted: c.stats.evicted}
		c.mu.Unlock()
		evictedTotal += n.evicted - a.lastEvicted[c.id]
		cur = append(cur, n)
	}
	slot := a.ticks % automoveWindow
	a.ticks++
	var young, old *classNow
	var youngAge, oldAge float64
	youngEvicting := false
	for i := range cur {
		n := &cur[i]
		delta := n.evicted - a.lastEvicted[n.c.id]
		a.lastEvicted[n.c.id] = n.evicted
		smp := classSample{age: n.age, evicted: delta > 0}
		if delta > 0 {
			smp.evictedShare = float64(delta) / float64(evictedTotal)
		}
		w := &a.samples[n.c.id]
		w[slot] = smp
		age, evictedSeconds, share := windowSums(w)
		if n.pages > automoveMinPages && (old == nil || age > oldAge) {
			old, oldAge = n, age
		}
		if (evictedSeconds > automoveWindow/2 || share/automoveWindow > 0.25) &&
			(young == nil || age < youngAge) {
			young, youngAge, youngEvicting = n, age, smp.evicted
		}
	}
	if a.ticks <= automoveWindow || young == nil || old == nil || young.c == old.c ||
		!youngEvicting || youngAge >= oldAge*automoveRatio {
		return
	}
	s.moveMu.Lock()
	s.movePageFrom(old.c, young.c, holdingNothing)
	s.moveMu.Unlock()
}

// windowSums are a class's mean tail age over the window, the seconds in
// which it evicted, and the sum of its eviction shares.
func windowSums(w *[automoveWindow]classSample) (age float64, evictedSeconds int, share float64) {
	for _, smp := range w {
		age += float64(smp.age)
		share += smp.evictedShare
		if smp.evicted {
			evictedSeconds++
		}
	}
	return age / automoveWindow, evictedSeconds, share
}
