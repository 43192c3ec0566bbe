package chaos

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-cache/shoal/client"
)

// value is what key's seq-th write stores: key, sequence and a checksum of
// both, so that a read tells a wrong value from an old one.
func value(key string, seq uint64) []byte {
	body := key + "|" + strconv.FormatUint(seq, 10)
	return fmt.Appendf(nil, "%s|%08x", body, crc32.ChecksumIEEE([]byte(body)))
}

// parseValue returns the sequence number of a value read for key, or false
// if the value is not one written for key.
func parseValue(key string, v []byte) (uint64, bool) {
	body, sum, ok := strings.Cut(strings.TrimPrefix(string(v), key+"|"), "|")
	if !ok || !strings.HasPrefix(string(v), key+"|") {
		return 0, false
	}
	full := key + "|" + body
	if fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(full))) != sum {
		return 0, false
	}
	seq, err := strconv.ParseUint(body, 10, 64)
	return seq, err == nil
}

// counts are a window's outcomes.
type counts struct {
	sets, setErrors, gets, hits, misses, getErrors, wrong, stale atomic.Int64
	firstError, lastError                                        atomic.Int64 // ns since the window began, 0 none
}

func (c *counts) errorAt(since time.Time) {
	at := int64(time.Since(since)) + 1
	c.firstError.CompareAndSwap(0, at)
	c.lastError.Store(at)
}

func (c *counts) String() string {
	window := "none"
	if f := c.firstError.Load(); f != 0 {
		window = fmt.Sprintf("+%v..+%v", time.Duration(f).Round(time.Millisecond), time.Duration(c.lastError.Load()).Round(time.Millisecond))
	}
	hitRatio := 0.0
	if g := c.hits.Load() + c.misses.Load(); g > 0 {
		hitRatio = float64(c.hits.Load()) / float64(g)
	}
	return fmt.Sprintf("sets %d (errors %d) gets %d (errors %d) hit ratio %.3f wrong %d stale %d error window %s",
		c.sets.Load(), c.setErrors.Load(), c.gets.Load(), c.getErrors.Load(), hitRatio, c.wrong.Load(), c.stale.Load(), window)
}

// workload runs workers that each own keys, so that each knows exactly the
// last write of its keys the cluster acknowledged.
type workload struct {
	c       *client.Client
	mu      sync.Mutex
	cur     *counts
	started time.Time
}

// window starts counting into a fresh set of counts and returns the old.
func (w *workload) window() *counts {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.cur
	w.cur, w.started = &counts{}, time.Now()
	return old
}

func (w *workload) counting() (*counts, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur, w.started
}

// run drives worker id until ctx ends: half sets, half gets, over keys
// keys, one request at a time, each bounded by the client's timeout.
func (w *workload) run(ctx context.Context, id, keys int) {
	rng := rand.New(rand.NewPCG(uint64(id), 7))
	acked := make([]uint64, keys)
	var seq uint64
	for ctx.Err() == nil {
		i := rng.IntN(keys)
		key := fmt.Sprintf("chaos:%d:%d", id, i)
		c, since := w.counting()
		if rng.IntN(2) == 0 {
			seq++
			c.sets.Add(1)
			if err := w.c.Set(ctx, &client.Item{Key: key, Value: value(key, seq)}); err != nil {
				if ctx.Err() == nil {
					c.setErrors.Add(1)
					c.errorAt(since)
				}
				continue
			}
			acked[i] = seq
			continue
		}
		c.gets.Add(1)
		it, err := w.c.Get(ctx, key)
		switch {
		case errors.Is(err, client.ErrCacheMiss):
			c.misses.Add(1)
		case err != nil:
			if ctx.Err() == nil {
				c.getErrors.Add(1)
				c.errorAt(since)
			}
		default:
			c.hits.Add(1)
			got, ok := parseValue(key, it.Value)
			switch {
			case !ok:
				c.wrong.Add(1)
			case got < acked[i]:
				c.stale.Add(1)
			}
		}
	}
}
