package store

import "errors"

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
// returns. Class 0, memcached's global page pool, is not a class here:
// unused pages are handed out from the arena as needed.
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
