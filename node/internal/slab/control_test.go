package slab

import (
	"errors"
	"testing"
)

// Reassign answers as memcached's slabs reassign does, in its order of
// checks, and a page it reports moved has moved.
func TestReassign(t *testing.T) {
	s := newTestStore(t, 64)
	s.stopBackground()
	small := s.slabs.classFor(itemSize(5, 100))
	big := s.slabs.classFor(itemSize(5, 20000))
	fill(t, s, "s", 30000, 100) // several pages of the small class
	fill(t, s, "b", 10, 20000)
	for _, c := range []struct {
		src, dst int
		want     error
	}{
		{small.id, small.id, ErrSameClass},
		{small.id, 0, ErrBadClass},
		{small.id, s.Classes() + 1, ErrBadClass},
		{s.Classes() + 1, small.id, ErrBadClass},
		{big.id, small.id, ErrNoSpare}, // one page only
	} {
		if err := s.Reassign(c.src, c.dst); !errors.Is(err, c.want) {
			t.Errorf("Reassign(%d, %d) = %v, want %v", c.src, c.dst, err, c.want)
		}
	}
	pages := func(c *slabClass) int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.pages) }
	fromSmall, toBig := pages(small), pages(big)
	if err := s.Reassign(small.id, big.id); err != nil {
		t.Fatal(err)
	}
	if err := s.Reassign(-1, big.id); err != nil {
		t.Fatal(err)
	}
	if got := pages(small); got != fromSmall-2 {
		t.Errorf("small class has %d pages, want %d", got, fromSmall-2)
	}
	if got := pages(big); got != toBig+2 {
		t.Errorf("big class has %d pages, want %d", got, toBig+2)
	}
	if s.Totals().PagesMoved != 2 {
		t.Errorf("pages moved %d, want 2", s.Totals().PagesMoved)
	}
	checkStore(t, s)
}

func TestReassignDisabled(t *testing.T) {
	s := newTestStore(t, 8, func(c *Config) { c.NoPageMoves = true })
	if err := s.Reassign(1, 2); !errors.Is(err, ErrReassignOff) {
		t.Fatalf("Reassign with page moves off = %v", err)
	}
}

func TestSetAutomove(t *testing.T) {
	s := newTestStore(t, 8)
	if s.Automove() != AutomoveWindowed {
		t.Fatalf("automove %d, want the default 1", s.Automove())
	}
	for _, m := range []AutomoveMode{AutomoveOff, AutomoveAggressive, AutomoveWindowed} {
		if err := s.SetAutomove(m); err != nil || s.Automove() != m {
			t.Fatalf("SetAutomove(%d): %v, now %d", m, err, s.Automove())
		}
	}
	if err := s.SetAutomove(3); !errors.Is(err, ErrBadAutomove) || s.Automove() != AutomoveWindowed {
		t.Fatalf("SetAutomove(3): %v, now %d", err, s.Automove())
	}
}

// A read hit allocates nothing, with or without options.
func TestGetHitAllocatesNothing(t *testing.T) {
	s := newTestStore(t, 8)
	put(t, s, ModeSet, "k", "value", 0)
	key, buf := []byte("k"), make([]byte, 0, 64)
	var steps [MaxSteps]Step
	o := GetOptions{Key: key, Steps: append(steps[:0], StepReportTTL, StepTouch), TTL: 100, Value: true}
	if n := testing.AllocsPerRun(100, func() {
		if _, v, ok := s.Get(key, buf[:0], false, 0); !ok || string(v) != "value" {
			t.Fatal("miss")
		}
		if _, v, ok := s.GetWith(&o, buf[:0]); !ok || string(v) != "value" {
			t.Fatal("miss")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per read", n)
	}
}
