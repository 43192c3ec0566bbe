package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A chaos load reads and writes keys through a client while a test breaks
// nodes, and counts what the application would see. Every value carries its
// key, a sequence number and a checksum of both, so a value that belongs to
// another key or was mangled is a wrong value; each key has one writer, so
// "the last acknowledged set" is well defined, and a get that returns an
// older sequence than it is a stale read.
type chaosLoad struct {
	c     *Client
	start time.Time
	stop  atomic.Bool
	wg    sync.WaitGroup

	mu                sync.Mutex // guards the fields below
	counts            tally
	firstErr, lastErr time.Duration // since start
	errSample         error
}

// chaosOpsPerWorker bounds a worker's calls, so that a load left running
// by a failing test ends by itself.
const chaosOpsPerWorker = 200_000

// startChaos runs workers goroutines over keys keys (each key written by
// one worker only) until stopChaos or the end of the test.
func startChaos(t *testing.T, c *Client, workers, keys int) *chaosLoad {
	l := &chaosLoad{c: c, start: time.Now()}
	for w := range workers {
		var mine []string
		for i := w; i < keys; i += workers {
			mine = append(mine, "chaos:"+strconv.Itoa(i))
		}
		l.wg.Add(1)
		go l.work(mine, uint64(w))
	}
	t.Cleanup(l.stopChaos)
	return l
}

func (l *chaosLoad) stopChaos() {
	l.stop.Store(true)
	l.wg.Wait()
}

// work alternates gets and sets of its own keys at random, paced so that
// the nodes' failure detection keeps some of the two cores.
func (l *chaosLoad) work(keys []string, seed uint64) {
	defer l.wg.Done()
	rng := rand.New(rand.NewPCG(seed, 7))
	acked := make(map[string]uint64)   // last sequence whose set succeeded
	written := make(map[string]uint64) // last sequence sent, acknowledged or not
	ctx := context.Background()
	for range chaosOpsPerWorker {
		if l.stop.Load() {
			return
		}
		k := keys[rng.IntN(len(keys))]
		if rng.IntN(2) == 0 {
			written[k]++
			err := l.c.Set(ctx, &Item{Key: k, Value: chaosValue(k, written[k])})
			if err == nil {
				acked[k] = written[k]
			}
			l.count(func(t *tally) { t.sets++ }, err)
		} else {
			l.check(ctx, k, acked[k], written[k])
		}
		time.Sleep(time.Millisecond)
	}
}

// check gets k and counts a hit, a miss, an error, a wrong or a stale value.
func (l *chaosLoad) check(ctx context.Context, k string, acked, written uint64) {
	it, err := l.c.Get(ctx, k)
	if err != nil {
		if errors.Is(err, ErrCacheMiss) {
			err = nil
		}
		l.count(func(t *tally) { t.gets++ }, err)
		return
	}
	seq, ok := parseChaos(k, it.Value)
	l.count(func(t *tally) {
		t.gets++
		t.hits++
		switch {
		case !ok || seq > written:
			t.wrong++
		case seq < acked:
			t.stale++
		}
	}, nil)
}

// count adds one call's counts, and its error if any, under one lock, so
// that a tally never holds half a call.
func (l *chaosLoad) count(add func(*tally), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	add(&l.counts)
	if err == nil {
		return
	}
	l.counts.errs++
	at := time.Since(l.start)
	if l.errSample == nil {
		l.firstErr, l.errSample = at, err
	}
	l.lastErr = at
}

// A tally is the load's counts at one moment; tallies subtract, to count
// one phase of a test.
type tally struct{ gets, hits, sets, errs, wrong, stale int64 }

func (l *chaosLoad) tally() tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts
}

func (a tally) sub(b tally) tally {
	return tally{a.gets - b.gets, a.hits - b.hits, a.sets - b.sets, a.errs - b.errs, a.wrong - b.wrong, a.stale - b.stale}
}

func (a tally) String() string {
	ratio := 0.0
	if a.gets > 0 {
		ratio = float64(a.hits) / float64(a.gets)
	}
	return fmt.Sprintf("%d gets (hit ratio %.4f), %d sets, %d errors, %d wrong values, %d stale reads",
		a.gets, ratio, a.sets, a.errs, a.wrong, a.stale)
}

// errWindow says when, since the load started, errors were seen.
func (l *chaosLoad) errWindow() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.errSample == nil {
		return "no errors"
	}
	return fmt.Sprintf("errors from %v to %v after the load started (a window of %v), first: %v",
		l.firstErr.Round(time.Millisecond), l.lastErr.Round(time.Millisecond),
		(l.lastErr - l.firstErr).Round(time.Millisecond), l.errSample)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// chaosValue is "KEY SEQ CRC", CRC the CRC32C of "KEY SEQ" in hex.
func chaosValue(key string, seq uint64) []byte {
	body := key + " " + strconv.FormatUint(seq, 10)
	return fmt.Appendf(nil, "%s %08x", body, crc32.Checksum([]byte(body), castagnoli))
}

// parseChaos reads the sequence number of a chaosValue of key.
func parseChaos(key string, v []byte) (uint64, bool) {
	i := bytes.LastIndexByte(v, ' ')
	if i < 0 || string(v[i+1:]) != fmt.Sprintf("%08x", crc32.Checksum(v[:i], castagnoli)) {
		return 0, false
	}
	k, seq, ok := bytes.Cut(v[:i], []byte(" "))
	if !ok || string(k) != key {
		return 0, false
	}
	n, err := strconv.ParseUint(string(seq), 10, 64)
	return n, err == nil
}
