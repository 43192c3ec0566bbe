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
		ctx := context.Background()
		w.warming = true
		for w.warmBatch() > 0 {
			w.batch(ctx, w.warmBatch())
		}
		w.warming = false
		allocs := testing.AllocsPerRun(200, func() { w.batch(ctx, cfg.Pipeline) })
		for _, c := range w.conns {
			c.close()
			if c.fails.conns != 0 {
				t.Fatalf("%s: %s failed: %v", p, c.addr, c.fails.err)
			}
		}
		if allocs != 0 || w.c.verifyErrors != 0 || w.c.misses != 0 || w.c.failed != 0 {
			t.Errorf("%s: %.1f allocations per batch (%d wrong values, %d misses, %d failed)",
				p, allocs, w.c.verifyErrors, w.c.misses, w.c.failed)
		}
	}
}
