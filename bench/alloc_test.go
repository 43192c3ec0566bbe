package bench

import (
	"context"
	"testing"
)

// The steady state of a worker allocates nothing: a batch reuses its key
// slots, value buffer and reply buffers.
func TestBatchDoesNotAllocate(t *testing.T) {
	a, b := startMemcached(t, 64), startMemcached(t, 64)
	for _, p := range []Protocol{Text, Meta, Binary} {
		cfg := smallRun(a, b)
		cfg.Protocol, cfg.Pipeline, cfg.MultiGet, cfg.Connections = p, 8, 5, 1
		cfg.Keys, cfg.ValueMin, cfg.ValueMax = 100, 50, 2000
		r := &runner{cfg: cfg, keys: newKeySpace(&cfg), filler: newFiller(cfg.Seed, cfg.ValueMax)}
		workers, err := r.dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		w := workers[0]
		w.warming = true
		for w.warmBatch() > 0 {
			if err := w.batch(w.warmBatch()); err != nil {
				t.Fatal(err)
			}
		}
		w.warming = false
		var failed error
		allocs := testing.AllocsPerRun(200, func() {
			if err := w.batch(cfg.Pipeline); err != nil && failed == nil {
				failed = err
			}
		})
		for _, c := range w.conns {
			c.close()
		}
		if failed != nil {
			t.Fatal(failed)
		}
		if allocs != 0 || w.c.verifyErrors != 0 || w.c.misses != 0 {
			t.Errorf("%s: %.1f allocations per batch (%d wrong values, %d misses)", p, allocs, w.c.verifyErrors, w.c.misses)
		}
	}
}
