package store

import "errors"

// AutomoveMode is memcached's slab_automove setting. Segments hold items
// of every size, so there are no pages to move between classes: the mode
// is kept and reported for the tools that set it.
type AutomoveMode uint32

// Automove modes.
const (
	AutomoveOff      AutomoveMode = iota
	AutomoveWindowed              // memcached's default
	AutomoveAggressive
)

// Memcached's defaults of slab_automove_ratio and slab_automove_window.
const (
	DefaultAutomoveRatio  = 0.8
	DefaultAutomoveWindow = 30
)

// SetAutomove changes the automove mode (slabs automove).
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

// Reassign is slabs reassign. A class owns no pages here (an item's class
// is only the one memcached would give it), so after memcached's checks of
// the request it answers as memcached does when the source has nothing to
// move: ErrNoSpare.
func (s *Store) Reassign(src, dst int) error {
	switch {
	case s.cfg.NoPageMoves:
		return ErrReassignOff
	case src == dst:
		return ErrSameClass
	case dst < 1 || dst > s.Classes():
		return ErrBadClass
	case src < -1 || src > s.Classes():
		return ErrBadClass
	}
	return ErrNoSpare
}
