package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runner is what the workers of one run share, read-only but for the
// atomic counters.
type runner struct {
	cfg    Config
	keys   *keySpace
	filler []byte

	remaining atomic.Int64 // requests still to send, when counted
	done      atomic.Int64 // requests sent, for the progress line
	stop      atomic.Bool  // set when the run's time is up
}

// Run sends the load cfg describes and reports how it went. With Warmup set,
// every key is set once first, unmeasured. The run ends when its duration is
// over, its requests are sent or ctx is done, whichever comes first; each
// worker finishes the batch it is in.
//
// A server that cannot be reached at the start, or fails during the
// warm-up, is an error. One that fails under measured load is not: its
// requests fail, each worker dials it again after a backoff and goes on,
// and the Result tells what failed when, per server.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	r, workers, err := start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeAll(workers)

	res := &Result{Config: cfg}
	if cfg.Warmup {
		start := time.Now()
		res.WarmupSets, res.WarmupErrors, err = r.warm(ctx, workers)
		res.Warmup = time.Since(start)
		if err != nil {
			return nil, err
		}
	}

	r.remaining.Store(cfg.Requests)
	start := time.Now()
	err = r.phase(ctx, workers, "load", cfg.Duration, cfg.Requests, (*worker).loadStep)
	res.Elapsed = time.Since(start)
	res.Interrupted = ctx.Err() != nil
	res.collect(workers, start)
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	return res, nil
}

// Fill sets every key of cfg's key space once, as Run's warm-up does, and
// reports how many sets it sent and how many were answered with an error.
// It lets a caller measure something of its own between filling and load.
func Fill(ctx context.Context, cfg Config) (sets, errors int64, err error) {
	r, workers, err := start(ctx, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer closeAll(workers)
	return r.warm(ctx, workers)
}

func start(ctx context.Context, cfg Config) (*runner, []*worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	r := &runner{cfg: cfg, keys: newKeySpace(&cfg), filler: newFiller(cfg.Seed, cfg.ValueMax)}
	workers, err := r.dial(ctx)
	return r, workers, err
}

// warm runs the warm-up, then readies the workers for measured load.
func (r *runner) warm(ctx context.Context, workers []*worker) (sets, errors int64, err error) {
	for _, w := range workers {
		w.warming = true
	}
	err = r.phase(ctx, workers, "warm-up", 0, int64(r.cfg.Keys), (*worker).warmStep)
	for _, w := range workers {
		sets += w.c.sets
		errors += w.c.errors
		w.warming = false
		w.reset()
	}
	if err != nil {
		return sets, errors, fmt.Errorf("bench: warm-up: %w", err)
	}
	return sets, errors, nil
}

func closeAll(workers []*worker) {
	for _, w := range workers {
		if w == nil {
			continue
		}
		for _, c := range w.conns {
			c.close()
		}
	}
}

func (r *runner) dial(ctx context.Context) ([]*worker, error) {
	workers := make([]*worker, r.cfg.Connections)
	for i := range workers {
		w := newWorker(r, i)
		workers[i] = w
		for _, addr := range r.cfg.Servers {
			c, err := dial(ctx, r.cfg.Connect, addr, r.cfg.Timeout)
			if err != nil {
				closeAll(workers)
				return nil, err
			}
			w.conns = append(w.conns, c)
		}
	}
	return workers, nil
}

// step sends one batch, reporting how many requests it held; 0 means the
// worker's share is done. ctx ends with the phase.
type step func(w *worker, ctx context.Context) (int, error)

// warmStep sets the next keys of the worker's share. A server failing ends
// the warm-up: the keys it lost would be misses under load, which would
// then not be the load asked for.
func (w *worker) warmStep(ctx context.Context) (int, error) {
	n := w.warmBatch()
	if n == 0 {
		return 0, nil
	}
	w.batch(ctx, n)
	for _, c := range w.conns {
		if c.fails.conns > 0 {
			return n, fmt.Errorf("%s: %w", c.addr, c.fails.err)
		}
	}
	return n, nil
}

func (w *worker) loadStep(ctx context.Context) (int, error) {
	if !w.awaitConn(ctx) {
		return 0, nil
	}
	n := w.run.claim(w.run.cfg.Pipeline)
	if n == 0 {
		return 0, nil
	}
	w.batch(ctx, n)
	return n, nil
}

// claim takes up to n of the requests left to send.
func (r *runner) claim(n int) int {
	if r.cfg.Requests == 0 {
		return n
	}
	left := r.remaining.Add(-int64(n))
	switch {
	case left >= 0:
		return n
	case left > -int64(n):
		return n + int(left)
	}
	return 0
}

// phase runs every worker's steps until they are done, the duration (if any)
// is over, ctx is done or one of them fails; the first failure stops them
// all and is returned.
func (r *runner) phase(ctx context.Context, workers []*worker, name string, d time.Duration, total int64, next step) error {
	r.stop.Store(false)
	r.done.Store(0)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if d > 0 {
		t := time.AfterFunc(d, cancel)
		defer t.Stop()
	}
	unhook := context.AfterFunc(ctx, func() { r.stop.Store(true) })
	defer unhook()
	if r.cfg.Progress != nil {
		p := startProgress(r.cfg.Progress, &r.done, name, d, total)
		defer p.finish()
	}

	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !r.stop.Load() {
				n, err := next(w, ctx)
				if err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
				if n == 0 {
					return
				}
				r.done.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	return first
}
