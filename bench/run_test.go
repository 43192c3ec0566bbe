package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/connect"
	"github.com/shoal-cache/shoal/protocol"
)

// smallRun is a bounded run: a few thousand requests over a small key space
// that fits memory, so that after the warm-up every get hits.
func smallRun(servers ...string) Config {
	c := DefaultConfig()
	c.Servers = servers
	c.Connections = 4
	c.Keys = 500
	c.Requests = 3000
	c.Duration = 0
	c.Verify = true
	return c
}

func TestRunAgainstMemcached(t *testing.T) {
	for _, p := range []Protocol{Text, Meta, Binary} {
		for _, shape := range []struct{ pipeline, multiget int }{{1, 1}, {8, 5}} {
			name := fmt.Sprintf("%s/pipeline=%d/multiget=%d", p, shape.pipeline, shape.multiget)
			t.Run(name, func(t *testing.T) {
				addr := startMemcached(t, 64)
				cfg := smallRun(addr)
				cfg.Protocol, cfg.Pipeline, cfg.MultiGet = p, shape.pipeline, shape.multiget
				res, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				checkResult(t, res, cfg)
				st := stats(t, addr)
				if got, want := st["cmd_set"], int64(cfg.Keys)+res.Sets; got != want {
					t.Errorf("memcached counted %d sets, want %d warm-up + %d", got, cfg.Keys, res.Sets)
				}
				if st["get_hits"] != res.Hits || st["get_misses"] != 0 {
					t.Errorf("memcached counted %d hits, %d misses; the run %d hits",
						st["get_hits"], st["get_misses"], res.Hits)
				}
			})
		}
	}
}

// checkResult asserts what every bounded run after a warm-up must show.
func checkResult(t *testing.T, res *Result, cfg Config) {
	t.Helper()
	if res.WarmupSets != int64(cfg.Keys) || res.WarmupErrors != 0 {
		t.Errorf("warm-up: %d sets, %d errors; want %d, 0", res.WarmupSets, res.WarmupErrors, cfg.Keys)
	}
	if res.Ops != cfg.Requests || res.Sets+res.Gets != res.Ops {
		t.Errorf("requests %d (sets %d, gets %d), want %d", res.Ops, res.Sets, res.Gets, cfg.Requests)
	}
	if res.Sets == 0 || res.Gets == 0 {
		t.Errorf("set:get 1:9 but %d sets, %d gets", res.Sets, res.Gets)
	}
	if res.Keys != res.Gets*int64(cfg.MultiGet) || res.Hits != res.Keys || res.Misses != 0 {
		t.Errorf("gets %d for %d keys: %d hits, %d misses; want every key a hit",
			res.Gets, res.Keys, res.Hits, res.Misses)
	}
	if res.VerifyErrors != 0 || res.Errors != 0 || res.NotStored != 0 {
		t.Errorf("%d wrong values %q, %d errors, %d not stored", res.VerifyErrors, res.Mismatches,
			res.Errors, res.NotStored)
	}
	if res.Latency.Count != res.Ops || res.GetLatency.Count != res.Gets || res.SetLatency.Count != res.Sets {
		t.Errorf("latency counts %d/%d/%d, want %d/%d/%d", res.Latency.Count, res.GetLatency.Count,
			res.SetLatency.Count, res.Ops, res.Gets, res.Sets)
	}
	l := res.Latency
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("percentiles out of order: %+v", l)
	}
}

func TestRunSpreadsKeysOverServers(t *testing.T) {
	a, b := startMemcached(t, 64), startMemcached(t, 64)
	cfg := smallRun(a, b)
	cfg.MultiGet, cfg.Pipeline = 4, 4
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, cfg)
	sa, sb := stats(t, a), stats(t, b)
	if sa["cmd_set"] == 0 || sb["cmd_set"] == 0 {
		t.Fatalf("sets per server %d, %d: keys not spread", sa["cmd_set"], sb["cmd_set"])
	}
	if got := sa["cmd_set"] + sb["cmd_set"]; got != int64(cfg.Keys)+res.Sets {
		t.Errorf("servers counted %d sets, want %d", got, int64(cfg.Keys)+res.Sets)
	}
	if got := sa["get_hits"] + sb["get_hits"]; got != res.Hits {
		t.Errorf("servers counted %d hits, the run %d", got, res.Hits)
	}
	if sa["curr_items"]+sb["curr_items"] != int64(cfg.Keys) {
		t.Errorf("servers hold %d+%d items, want %d keys once", sa["curr_items"], sb["curr_items"], cfg.Keys)
	}
}

// Values planted under the run's keys that are wrong, each in its own way,
// are all caught; a miss is not an error.
func TestRunDetectsWrongValues(t *testing.T) {
	addr := startMemcached(t, 64)
	good := appendFramed(nil, []byte("bad:0"), 40, newFiller(1, 40))
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-1] ^= 1
	planted := map[string][]byte{
		"bad:0": flipped,                                                  // a byte changed
		"bad:1": appendFramed(nil, []byte("bad:2"), 40, newFiller(1, 40)), // another key's value
		"bad:2": good[:30],                                                // cut short
		"bad:3": []byte(strings.Repeat("z", 40)),                          // not framed at all
		// bad:4 is missing
	}
	var req strings.Builder
	for k, v := range planted {
		fmt.Fprintf(&req, "set %s 0 0 %d\r\n%s\r\n", k, len(v), v)
	}
	command(t, addr, req.String()+"get bad:0\r\n", "END")

	cfg := smallRun(addr)
	cfg.KeyPrefix, cfg.Keys, cfg.Warmup = "bad:", 5, false
	cfg.SetRatio, cfg.GetRatio, cfg.Requests = 0, 1, 500
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hits == 0 || res.Misses == 0 || res.Hits+res.Misses != 500 {
		t.Fatalf("%d hits, %d misses of 500 gets over 4 planted keys and a missing one", res.Hits, res.Misses)
	}
	if res.VerifyErrors != res.Hits {
		t.Fatalf("%d wrong values caught of %d hits, all wrong", res.VerifyErrors, res.Hits)
	}
	if len(res.Mismatches) == 0 || !strings.Contains(res.Mismatches[0], "bad:") {
		t.Fatalf("mismatches not described: %q", res.Mismatches)
	}
}

// A configuration endpoint publishes two memcached nodes; the run finds and
// loads both.
func TestDiscoverAndRun(t *testing.T) {
	a, b := startMemcached(t, 64), startMemcached(t, 64)
	endpoint := serveConfig(t, a, b)
	servers, err := Discover(context.Background(), endpoint, connect.Options{}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 2 || servers[0] != a || servers[1] != b {
		t.Fatalf("discovered %q, want [%s %s]", servers, a, b)
	}
	cfg := smallRun(servers...)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, cfg)
	if stats(t, a)["cmd_get"] == 0 || stats(t, b)["cmd_get"] == 0 {
		t.Fatal("a discovered node got no gets")
	}
}

// serveConfig answers `config get cluster` with the given nodes, as a
// configuration endpoint does, built with package protocol's formatter.
func serveConfig(t *testing.T, nodes ...string) string {
	t.Helper()
	var cc protocol.ClusterConfig
	cc.Version = 3
	for _, n := range nodes {
		host, port, _ := net.SplitHostPort(n)
		var p int
		fmt.Sscan(port, &p)
		cc.Nodes = append(cc.Nodes, protocol.ClusterNode{Host: "localhost", IP: host, Port: p})
	}
	reply := protocol.AppendConfigReply(nil, protocol.ClusterKey, protocol.AppendClusterBody(nil, cc, false))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, err := bufio.NewReader(c).ReadString('\n')
				if err == nil && line == "config get cluster\r\n" {
					c.Write(reply)
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestDiscoverFromPlainMemcachedFails(t *testing.T) {
	addr := startMemcached(t, 64)
	_, err := Discover(context.Background(), addr, connect.Options{}, time.Second)
	if !errors.Is(err, protocol.ErrNoConfig) {
		t.Fatalf("got %v, want protocol.ErrNoConfig", err)
	}
}

// A server that takes requests and never answers fails each of them by
// timeout; the run ends on time, not in a hang, and says what failed.
func TestRunSilentServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg := smallRun(l.Addr().String())
	cfg.Warmup, cfg.Timeout = false, 200*time.Millisecond
	cfg.Requests, cfg.Duration = 0, time.Second
	start := time.Now()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v to end a 1s run", d)
	}
	// One request a batch, so one timeout per failed request.
	n := res.Nodes[0]
	if res.Ops != 0 || res.Failed == 0 || n.Failed != res.Failed || n.ConnErrors != n.Failed ||
		!strings.Contains(n.Err, os.ErrDeadlineExceeded.Error()) {
		t.Fatalf("%d answered, %d failed; node %+v", res.Ops, res.Failed, n)
	}
}

func TestRunStopsOnTimeAndOnCancel(t *testing.T) {
	addr := startMemcached(t, 64)
	cfg := smallRun(addr)
	cfg.Requests, cfg.Duration, cfg.Keys = 0, 600*time.Millisecond, 100
	var progress strings.Builder // written only by the progress goroutine, read after Run
	cfg.Progress = &progress
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops == 0 || res.Interrupted || res.Elapsed < cfg.Duration || res.Elapsed > 5*time.Second {
		t.Fatalf("duration run: %d requests in %v, interrupted %v", res.Ops, res.Elapsed, res.Interrupted)
	}
	if p := progress.String(); !strings.Contains(p, "\r\033[Kload    [") || !strings.HasSuffix(p, "\r\033[K") {
		t.Fatalf("progress line %q: want redrawn load lines, then cleared", p)
	}
	cfg.Progress = nil

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	cfg.Duration = time.Hour
	res, err = Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Ops == 0 || res.Elapsed > 5*time.Second {
		t.Fatalf("cancelled run: %d requests in %v, interrupted %v", res.Ops, res.Elapsed, res.Interrupted)
	}
}

func TestFill(t *testing.T) {
	addr := startMemcached(t, 64)
	cfg := smallRun(addr)
	cfg.Keys, cfg.Protocol = 1234, Binary
	sets, errs, err := Fill(context.Background(), cfg)
	if err != nil || sets != 1234 || errs != 0 {
		t.Fatalf("Fill: %d sets, %d errors, %v", sets, errs, err)
	}
	if st := stats(t, addr); st["curr_items"] != 1234 || st["cmd_set"] != 1234 {
		t.Fatalf("memcached holds %d items after %d sets, want 1234", st["curr_items"], st["cmd_set"])
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	c := smallRun("127.0.0.1:1")
	c.ValueMin, c.ValueMax = 5, 5 // too small to carry a key and a checksum
	if _, err := Run(context.Background(), c); !errors.Is(err, ErrConfig) {
		t.Fatalf("got %v, want ErrConfig", err)
	}
}
