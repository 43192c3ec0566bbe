package node

import (
	"errors"
	"math"
	"slices"
)

// Errors of Reassign, as memcached's `slabs reassign` names them.
var (
	ErrReassignBusy    = errors.New("BUSY currently processing reassign request")
	ErrReassignClass   = errors.New("BADCLASS invalid src or dst class id")
	ErrReassignNoSpare = errors.New("NOSPARE source class has no spare pages")
	ErrReassignSame    = errors.New("SAME src and dst class are identical")
	ErrReassignOff     = errors.New("CLIENT_ERROR slab reassignment disabled")
)

// SetAutomove sets memcached's slab_automove: 0 moves pages only when a
// class has nothing to evict, 1 and 2 also by eviction rates.
func (s *Store) SetAutomove(mode int) { s.automove.Store(int32(mode)) }

// SetAutomoveRatio sets slab_automove_ratio: how much younger than the
// oldest class's tail the evicting class's must be for a page to move.
func (s *Store) SetAutomoveRatio(r float64) { s.automoveRatio.Store(math.Float64bits(r)) }

// AutomoveRatio is the slab_automove_ratio in force.
func (s *Store) AutomoveRatio() float64 { return math.Float64frombits(s.automoveRatio.Load()) }

// Automove is the slab_automove mode in force.
func (s *Store) Automove() int { return int(s.automove.Load()) }

// Reassign moves one page from class src (-1: any class with a page to
// spare, the oldest first) to class dst, as `slabs reassign` does. It
// returns once the page has moved, or at once with ErrReassignBusy if a
// move is under way.
func (s *Store) Reassign(src, dst int) error {
	if s.cfg.NoPageMoves {
		return ErrReassignOff
	}
	classes := s.slabs.classes
	valid := func(id int) bool { return id >= 1 && id < len(classes) }
	if src == dst {
		return ErrReassignSame
	}
	// Class 0 is memcached's global page pool: pages given back by moves to
	// class 0, which shoal does not make, so it never has one to spare.
	if !valid(dst) || (src != -1 && src != 0 && !valid(src)) {
		return ErrReassignClass
	}
	if src == 0 {
		return ErrReassignNoSpare
	}
	if !s.moveMu.TryLock() {
		return ErrReassignBusy
	}
	defer s.moveMu.Unlock()
	to := classes[dst]
	donors := s.pageDonors(to)
	if src != -1 {
		from := classes[src]
		if !slices.Contains(donors, from) {
			return ErrReassignNoSpare
		}
		donors = []*slabClass{from}
	}
	for _, from := range donors {
		if s.movePageFrom(from, to, holdingNothing) {
			return nil
		}
	}
	return ErrReassignNoSpare
}
