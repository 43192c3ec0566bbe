package slab

// Page rebalancing: memcached 1.6's slab automover (slab_automove=1). Once
// memory is full, a class only grows by taking a page from another. Every
// second the store samples each class's tail age, evictions and growth into
// a window of the last seconds (slab_automove_window); when the youngest class that
// keeps evicting is much younger than the oldest class that can spare a
// page, one page moves from the old class to the young one. Decisions wait
// for a full window and look at window averages, so a burst of one size does
// not tear pages away from the classes that hold the rest of the working set
// (a page move evicts that class's oldest items).

// Memcached's defaults of the automover's settings (Config).
const (
	// DefaultAutomoveRatio is how much younger (as a fraction of the oldest
	// class's tail age) an evicting class's tail must be before it takes a
	// page: slab_automove_ratio.
	DefaultAutomoveRatio = 0.8
	// DefaultAutomoveWindow is how many one-second samples a decision looks
	// at: slab_automove_window.
	DefaultAutomoveWindow = 30
)

// automoveMinPages is how many pages a source class must have more than.
const automoveMinPages = 2

// classSample is one class's state in one second.
type classSample struct {
	age          uint32  // seconds since the tail item's last access
	evictedShare float64 // this class's share of the second's evictions
	evicted      bool    // it evicted this second
}

// automover is the rebalancer's memory: the window of samples per class and
// the counters at the previous sample. Only the tick goroutine uses it.
type automover struct {
	samples     [][]classSample // by class id, window long
	lastEvicted []uint64
	ticks       int
	window      int
	ratio       float64
}

func newAutomover(classes, window int, ratio float64) *automover {
	a := &automover{samples: make([][]classSample, classes),
		lastEvicted: make([]uint64, classes), window: window, ratio: ratio}
	for i := range a.samples {
		a.samples[i] = make([]classSample, window)
	}
	return a
}

// classNow is what a sample reads of a class, under its lock.
type classNow struct {
	c       *slabClass
	age     uint32
	pages   int
	evicted uint64
}

// rebalance takes this second's sample and moves at most one page. In
// AutomoveAggressive mode the page goes to the class that evicted most this
// second, whatever the window says.
func (s *Store) rebalance(a *automover, mode AutomoveMode) {
	a.ratio = s.AutomoveRatio()
	now := s.clock.Now()
	var cur []classNow
	var evictedTotal uint64
	for _, c := range s.slabs.classes[1:] {
		c.mu.Lock()
		n := classNow{c: c, age: s.tailAge(c, now), pages: len(c.pages), evicted: c.stats.Evicted}
		c.mu.Unlock()
		evictedTotal += n.evicted - a.lastEvicted[c.id]
		cur = append(cur, n)
	}
	slot := a.ticks % a.window
	a.ticks++
	var young, old, most *classNow
	var youngAge, oldAge float64
	var mostDelta uint64
	youngEvicting := false
	for i := range cur {
		n := &cur[i]
		delta := n.evicted - a.lastEvicted[n.c.id]
		if delta > mostDelta {
			most, mostDelta = n, delta
		}
		a.lastEvicted[n.c.id] = n.evicted
		smp := classSample{age: n.age, evicted: delta > 0}
		if delta > 0 {
			smp.evictedShare = float64(delta) / float64(evictedTotal)
		}
		w := a.samples[n.c.id]
		w[slot] = smp
		age, evictedSeconds, share := windowSums(w)
		if n.pages > automoveMinPages && (old == nil || age > oldAge) {
			old, oldAge = n, age
		}
		if (evictedSeconds > a.window/2 || share/float64(a.window) > 0.25) &&
			(young == nil || age < youngAge) {
			young, youngAge, youngEvicting = n, age, smp.evicted
		}
	}
	if mode == AutomoveAggressive {
		if most != nil {
			s.movePage(most.c, holdingNothing)
		}
		return
	}
	if a.ticks <= a.window || young == nil || old == nil || young.c == old.c ||
		!youngEvicting || youngAge >= oldAge*a.ratio {
		return
	}
	s.moveMu.Lock()
	s.movePageFrom(old.c, young.c, holdingNothing)
	s.moveMu.Unlock()
}

// windowSums are a class's mean tail age over the window, the seconds in
// which it evicted, and the sum of its eviction shares.
func windowSums(w []classSample) (age float64, evictedSeconds int, share float64) {
	for _, smp := range w {
		age += float64(smp.age)
		share += smp.evictedShare
		if smp.evicted {
			evictedSeconds++
		}
	}
	return age / float64(len(w)), evictedSeconds, share
}
