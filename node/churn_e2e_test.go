package node_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// Debian's memcslap in rounds of set, get and mget at -m 64, as a new user
// tries a cache: its get and mget tests store 5,000 fresh keys and read them
// straight back, so every miss is a just-written key lost. Values of up to
// 5 KB spread over 19 classes and overflow 64 MB in the first round, so
// pages move and items are evicted all along. shoal must find at least
// memcached's share, keep accepting sets of every size afterwards, and
// never die.
func TestE2EMemcslapFreshKeys(t *testing.T) {
	testproc.Tool(t, "memcslap", "libmemcached-tools")
	const rounds = 8
	shoal := startShoalProc(t, "-m", "64")
	mc := conformance.Memcached(t)
	share := map[string]float64{}
	for _, srv := range []struct{ name, addr string }{{"shoal", shoal.Addr}, {"memcached", mc}} {
		hits, misses := memcslapRounds(t, srv.addr, rounds)
		share[srv.name] = float64(hits) / float64(hits+misses)
		t.Logf("%s: %d rounds, fresh keys found %d of %d (%.4f)", srv.name, rounds, hits, hits+misses, share[srv.name])
	}
	if share["shoal"] < share["memcached"] {
		t.Errorf("shoal found %.4f of the fresh keys, memcached %.4f", share["shoal"], share["memcached"])
	}
	c := dialRaw(t, shoal.Addr)
	for n := 1; n <= 1000000; n *= 3 {
		c.nc.SetDeadline(time.Now().Add(10 * time.Second))
		if got := c.call(fmt.Sprintf("set after%d 0 0 %d\r\n%s\r\n", n, n, strings.Repeat("x", n))); got != "STORED\r\n" {
			t.Errorf("a %d-byte set after the rounds: %q", n, got)
		}
	}
	select {
	case <-shoal.Exited():
		t.Fatalf("shoal exited: %v\n%s", shoal.Err(), shoal.Output())
	default:
	}
}

// memcslapRounds runs memcslap's set, get and mget tests rounds times
// against addr and returns the get hits and misses they caused.
func memcslapRounds(t *testing.T, addr string, rounds int) (hits, misses int) {
	t.Helper()
	c := dialRaw(t, addr)
	counter := func(name string) int {
		n, err := strconv.Atoi(c.stats()[name])
		if err != nil {
			t.Fatalf("stats %s: %v", name, err)
		}
		return n
	}
	h0, m0 := counter("get_hits"), counter("get_misses")
	for r := 0; r < rounds; r++ {
		for _, test := range []string{"set", "get", "mget"} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := exec.CommandContext(ctx, "memcslap", "--servers="+addr, "--concurrency=2",
				"--execute-number=5000", "--test="+test).CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("memcslap --test=%s against %s, round %d: %v\n%s", test, addr, r+1, err, out)
			}
		}
	}
	return counter("get_hits") - h0, counter("get_misses") - m0
}

// Flushed and expired items leave curr_items and bytes within seconds, with
// nothing reading them, as memcached's LRU crawler makes them.
func TestE2ECurrItemsFallAfterFlushAndExpiry(t *testing.T) {
	shoal := startShoalProc(t)
	mc := conformance.Memcached(t)
	for _, srv := range []struct{ name, addr string }{{"shoal", shoal.Addr}, {"memcached", mc}} {
		c := dialRaw(t, srv.addr)
		for i := 0; i < 1000; i++ {
			c.call(fmt.Sprintf("set flushed%d 0 0 3 noreply\r\nabc\r\nmn\r\n", i))
		}
		c.call("flush_all\r\n")
		for i := 0; i < 1000; i++ {
			c.call(fmt.Sprintf("set expiring%d 0 1 3 noreply\r\nabc\r\nmn\r\n", i))
		}
		start := time.Now()
		st := c.stats()
		for (st["curr_items"] != "0" || st["bytes"] != "0") && time.Since(start) < 15*time.Second {
			time.Sleep(200 * time.Millisecond)
			st = c.stats()
		}
		t.Logf("%s: curr_items %s bytes %s %.1f s after flushing 1,000 items and setting 1,000 with a 1 s TTL",
			srv.name, st["curr_items"], st["bytes"], time.Since(start).Seconds())
		if srv.name == "shoal" && (st["curr_items"] != "0" || st["bytes"] != "0") {
			t.Errorf("shoal still counts curr_items %s bytes %s", st["curr_items"], st["bytes"])
		}
	}
}
