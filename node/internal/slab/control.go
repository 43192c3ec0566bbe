package slab

import (
	"errors"
	"math"
)

// AutomoveMode is how pages move between classes on their own, as
// memcached's slab_automove.
type AutomoveMode uint32

// Automove modes.
const (
	AutomoveOff        AutomoveMode = iota // only Reassign moves pages
	AutomoveWindowed                       // memcached's default: by eviction rates and tail ages over a window
	AutomoveAggressive                     // a page to the class that evicted most, every second
)

// SetAutomove changes the automove mode at run time (slabs automove).
func (s *Store) SetAutomove(mode AutomoveMode) error {
	if mode > AutomoveAggressive {
		return ErrBadAutomove
	}
	s.automove.Store(uint32(mode))
	return nil
}

// Automove is the automove mode now.
func (s *Store) Automove() AutomoveMode { return AutomoveMode(s.automove.Load()) }

// SetAutomoveRatio sets slab_automove_ratio (slabs automove ratio R): how
// much younger than the oldest class's tail the evicting class's must be
// for a page to move.
func (s *Store) SetAutomoveRatio(r float64) { s.automoveRatio.Store(math.Float64bits(r)) }

// AutomoveRatio is the slab_automove_ratio now.
func (s *Store) AutomoveRatio() float64 { return math.Float64frombits(s.automoveRatio.Load()) }

// Errors of Reassign, in the order memcached checks for them; their texts
// are memcached's replies to slabs reassign.
var (
	ErrBadAutomove = errors.New("automove mode must be 0, 1 or 2")
	ErrReassignOff = errors.New("slab reassignment disabled")
	ErrBusy        = errors.New("currently processing reassign request")
	ErrSameClass   = errors.New("src and dst class are identical")
	ErrBadClass    = errors.New("invalid src or dst class id")
	ErrNoSpare     = errors.New("source class has no spare pages")
)

// Reassign moves one page from class src to class dst (slabs reassign),
// evicting the source's least recently used items to empty it; src -1
// picks the class whose oldest item is oldest. Unlike memcached, which
// answers first and moves in the background, the page has moved when it
// returns. Class 0 is memcached's global page pool, which holds the pages
// moves to class 0 give back: shoal's moves give none back, so it never
// has a page to spare.
func (s *Store) Reassign(src, dst int) error {
	switch {
	case s.cfg.NoPageMoves:
		return ErrReassignOff
	case !s.moveMu.TryLock():
		return ErrBusy
	}
	defer s.moveMu.Unlock()
	if src == dst {
		return ErrSameClass
	}
	if dst < 1 || dst > s.Classes() {
		return ErrBadClass
	}
	to := s.slabs.classes[dst]
	if src == -1 {
		donors := s.pageDonors(to)
		if len(donors) == 0 {
			return ErrNoSpare
		}
		src = donors[0].id
	}
	if src == 0 {
		return ErrNoSpare
	}
	if src < 1 || src > s.Classes() {
		return ErrBadClass
	}
	from := s.slabs.classes[src]
	from.mu.Lock()
	spare := len(from.pages) >= 2
	from.mu.Unlock()
	if !spare {
		return ErrNoSpare
	}
	if !s.movePageFrom(from, to, holdingNothing) {
		return ErrBusy // every page it looked at had an item being filled
	}
	return nil
}
