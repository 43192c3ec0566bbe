package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// warmDepth is the batch size of the warm-up, whatever the pipeline depth:
// filling the key space is not measured, only waited for.
const warmDepth = 64

// maxSamples is how many verification failures a run describes in words.
const maxSamples = 10

// counts are a worker's tallies, summed into a Result.
type counts struct {
	ops, sets, gets    int64 // answered requests
	keys, hits, misses int64
	notStored, errors  int64
	failed             int64 // requests that got no reply
	verifyErrors       int64
}

func (c *counts) add(o *counts) {
	c.ops += o.ops
	c.sets += o.sets
	c.gets += o.gets
	c.keys += o.keys
	c.hits += o.hits
	c.misses += o.misses
	c.notStored += o.notStored
	c.errors += o.errors
	c.failed += o.failed
	c.verifyErrors += o.verifyErrors
}

// request is one request of a batch. A multi-get whose keys live on several
// servers is sent as one part to each; it is done when all parts are.
type request struct {
	set    bool
	parts  int  // parts not yet answered
	failed bool // a part got no reply
}

// part is what was sent on one connection for one request: the keys
// pending[server].keys[lo:hi].
type part struct{ req, lo, hi int }

type pending struct {
	parts []part
	keys  [][]byte
}

// worker is one goroutine's share of the load: a connection to each server,
// its own random source, counts and histograms, and buffers reused from
// batch to batch so that the steady state does not allocate.
type worker struct {
	run   *runner
	rng   *rand.Rand
	codec codec
	conns []*conn

	reqs   []request
	slots  [][]byte // key buffers, MultiGet per request
	routes []int    // server of each key of the request being built
	pend   []pending
	value  []byte

	// warm-up: the keys [warmNext, warmEnd) are still to be set
	warming           bool
	warmNext, warmEnd uint64

	partHits   int64
	c          counts
	samples    []string
	setH, getH *hdrhistogram.Histogram
}

func newWorker(run *runner, id int) *worker {
	cfg := &run.cfg
	n := max(cfg.Pipeline, warmDepth)
	w := &worker{
		run:    run,
		rng:    rand.New(rand.NewPCG(cfg.Seed, uint64(id)+1)),
		codec:  newCodec(cfg.Protocol),
		reqs:   make([]request, n),
		slots:  make([][]byte, n*cfg.MultiGet),
		routes: make([]int, cfg.MultiGet),
		pend:   make([]pending, len(cfg.Servers)),
		setH:   newHist(),
		getH:   newHist(),
	}
	for i := range w.slots {
		w.slots[i] = make([]byte, 0, cfg.maxKey())
	}
	lo, hi := cfg.Keys*uint64(id)/uint64(cfg.Connections), cfg.Keys*uint64(id+1)/uint64(cfg.Connections)
	w.warmNext, w.warmEnd = lo, hi
	return w
}

// reset forgets what the worker has counted, keeping its connections.
func (w *worker) reset() {
	w.c = counts{}
	w.samples = nil
	w.setH.Reset()
	w.getH.Reset()
	for _, c := range w.conns {
		c.fails = failures{}
	}
}

// warmBatch is how many sets the next warm-up batch holds.
func (w *worker) warmBatch() int {
	return int(min(uint64(warmDepth), w.warmEnd-w.warmNext))
}

// batch writes n requests, then reads their replies and records how long
// each took, from the batch's start to its last reply. A connection that
// fails (or is down) fails the requests it carries, and is dialed again
// in a later batch: the other servers keep getting their share.
func (w *worker) batch(ctx context.Context, n int) {
	start := time.Now()
	w.begin(ctx, start)
	cfg := &w.run.cfg
	for i := 0; i < n; i++ {
		set := w.warming || w.rng.IntN(cfg.SetRatio+cfg.GetRatio) < cfg.SetRatio
		w.reqs[i] = request{set: set}
		if set {
			w.addSet(i)
		} else {
			w.addGet(i)
		}
	}
	for i, c := range w.conns {
		if len(w.pend[i].parts) > 0 && c.up() {
			if err := c.w.Flush(); err != nil {
				c.fail(time.Now(), err)
			}
		}
	}
	for i, c := range w.conns {
		p := &w.pend[i]
		answered := 0
		if c.up() && len(p.parts) > 0 {
			var err error
			if answered, err = w.readReplies(c, p, start); err != nil {
				c.fail(time.Now(), err)
			} else {
				c.backoff = 0
			}
		}
		w.lose(c, p.parts[answered:])
	}
	w.tally(n)
}

// begin readies the connections for a batch: it dials those that are down
// and due, and sets the batch's deadline on the others.
func (w *worker) begin(ctx context.Context, start time.Time) {
	timeout := w.run.cfg.Timeout
	for i, c := range w.conns {
		w.pend[i].parts = w.pend[i].parts[:0]
		w.pend[i].keys = w.pend[i].keys[:0]
		c.redial(ctx, timeout)
		if c.up() {
			_ = c.nc.SetDeadline(start.Add(timeout))
		}
	}
}

// lose fails the requests of parts, which got no reply from c.
func (w *worker) lose(c *conn, parts []part) {
	if len(parts) == 0 {
		return
	}
	for _, pt := range parts {
		w.reqs[pt.req].failed = true
	}
	c.fails.requests += int64(len(parts)) // a request has one part per server
	c.fails.note(time.Now(), nil)
}

// tally counts a batch's requests: those answered by kind, the others as
// failed.
func (w *worker) tally(n int) {
	for i := range w.reqs[:n] {
		switch r := &w.reqs[i]; {
		case r.failed:
			w.c.failed++
			continue
		case r.set:
			w.c.sets++
		default:
			w.c.gets++
		}
		w.c.ops++
	}
}

// awaitConn waits while every connection of the worker is down, until one
// may be dialed again or ctx ends (then it returns false): a worker whose
// servers are all gone would otherwise fail requests as fast as it can
// claim them.
func (w *worker) awaitConn(ctx context.Context) bool {
	var due time.Time
	for _, c := range w.conns {
		if c.up() {
			return true
		}
		if due.IsZero() || c.retryAt.Before(due) {
			due = c.retryAt
		}
	}
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *worker) nextKey(slot int) []byte {
	var i uint64
	if w.warming {
		i = w.warmNext
		w.warmNext++
	} else {
		i = w.run.keys.draw(w.rng)
	}
	w.slots[slot] = w.run.keys.appendKey(w.slots[slot][:0], i)
	return w.slots[slot]
}

func (w *worker) addSet(i int) {
	cfg := &w.run.cfg
	key := w.nextKey(i * cfg.MultiGet)
	size := cfg.ValueMin
	if cfg.ValueMax > cfg.ValueMin {
		size += w.rng.IntN(cfg.ValueMax - cfg.ValueMin + 1)
	}
	filler := w.run.filler[w.rng.IntN(fillerSlack):]
	value := filler[:size]
	if cfg.Verify {
		w.value = appendFramed(w.value[:0], key, size, filler)
		value = w.value
	}
	s := serverOf(key, len(w.conns))
	w.codec.writeSet(w.conns[s].w, key, value)
	w.addPart(s, i, key)
}

func (w *worker) addPart(s, req int, keys ...[]byte) {
	p := &w.pend[s]
	lo := len(p.keys)
	p.keys = append(p.keys, keys...)
	p.parts = append(p.parts, part{req: req, lo: lo, hi: len(p.keys)})
	w.reqs[req].parts++
}

func (w *worker) addGet(i int) {
	mg := w.run.cfg.MultiGet
	keys := w.slots[i*mg : i*mg+mg]
	for j := range keys {
		w.nextKey(i*mg + j)
	}
	if len(w.conns) == 1 {
		w.codec.writeGet(w.conns[0].w, keys)
		w.addPart(0, i, keys...)
		return
	}
	for j, k := range keys {
		w.routes[j] = serverOf(k, len(w.conns))
	}
	for s := range w.conns {
		p := &w.pend[s]
		lo := len(p.keys)
		for j, k := range keys {
			if w.routes[j] == s {
				p.keys = append(p.keys, k)
			}
		}
		if len(p.keys) == lo {
			continue
		}
		w.codec.writeGet(w.conns[s].w, p.keys[lo:])
		p.parts = append(p.parts, part{req: i, lo: lo, hi: len(p.keys)})
		w.reqs[i].parts++
	}
}

// readReplies reads the replies to the parts sent on c, and returns how
// many it read before an error, if any.
func (w *worker) readReplies(c *conn, p *pending, start time.Time) (int, error) {
	for i, pt := range p.parts {
		req := &w.reqs[pt.req]
		out, err := w.readPart(c.r, p.keys[pt.lo:pt.hi], req.set)
		if err != nil {
			return i, err
		}
		if out == errReply {
			w.c.errors++
		}
		if req.parts--; req.parts == 0 && !req.failed && !w.warming {
			h := w.getH
			if req.set {
				h = w.setH
			}
			record(h, time.Since(start))
		}
	}
	return len(p.parts), nil
}

// readPart reads the reply to one part. A get's keys count as hits and
// misses only once its reply has been read in full: a reply cut short is a
// failure and an error reply an error, not misses.
func (w *worker) readPart(r *bufio.Reader, keys [][]byte, set bool) (outcome, error) {
	if set {
		out, err := w.codec.readSet(r)
		if err == nil && out == notStored {
			w.c.notStored++
		}
		return out, err
	}
	w.partHits = 0
	out, err := w.codec.readGet(r, keys, w)
	if err == nil && out == ok {
		w.c.keys += int64(len(keys))
		w.c.hits += w.partHits
		w.c.misses += int64(len(keys)) - w.partHits
	}
	return out, err
}

// hit checks a value read back (sink).
func (w *worker) hit(key, value []byte) {
	w.partHits++
	if !w.run.cfg.Verify {
		return
	}
	if err := CheckValue(key, value); err != nil {
		w.mismatch(fmt.Sprintf("key %s: %v", key, err))
	}
}

// unasked counts a value the server sent for a key not asked for (sink).
func (w *worker) unasked(key []byte) {
	w.mismatch(fmt.Sprintf("key %s: sent but not asked for", key))
}

func (w *worker) mismatch(what string) {
	w.c.verifyErrors++
	if len(w.samples) < maxSamples {
		w.samples = append(w.samples, what)
	}
}
