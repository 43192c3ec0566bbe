package bench

import (
	"context"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

func TestMain(m *testing.M) { testproc.Main(m) }

// A shoal node killed under load fails the requests sent to it, and the
// run goes on to its end: the report shows that node's failures and their
// window, the other node never fails, and a request that got no reply is
// never counted as answered, nor its key as a hit or a miss.
func TestRunThroughNodeFailure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		killAt   time.Duration // after the run starts (its warm-up takes ms)
		restart  bool          // start the node again, empty, a second after the kill
		requests int64         // a counted run (of about 2s) instead of a timed one
	}{
		{name: "killed and restarted", killAt: time.Second, restart: true},
		{name: "killed for good", killAt: time.Second},
		{name: "killed for good, counted", killAt: 300 * time.Millisecond, requests: 60000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testproc.StartShoal(t, "node", "-m", "16")
			b := testproc.StartShoal(t, "node", "-m", "16")
			cfg := smallRun(a.Addr, b.Addr)
			cfg.Connections, cfg.Requests, cfg.Duration = 2, tc.requests, 0
			if tc.requests == 0 {
				cfg.Duration = 5 * time.Second
			}
			res, restartedAt := runAndKill(t, cfg, b, tc.killAt, tc.restart)

			checkAccounts(t, res)
			t.Logf("%d answered (%d sets, %d gets, %d misses), %d failed in %.2fs; the killed node: %+v",
				res.Ops, res.Sets, res.Gets, res.Misses, res.Failed, res.Elapsed.Seconds(), res.Nodes[1])
			na, nb := res.Nodes[0], res.Nodes[1]
			if na.Failed != 0 || na.ConnErrors != 0 {
				t.Errorf("the node left alone failed: %+v", na)
			}
			if nb.Failed == 0 || nb.ConnErrors == 0 || nb.Failed != res.Failed || nb.Err == "" {
				t.Errorf("the killed node: %+v; %d failed in all", nb, res.Failed)
			}
			if nb.FirstError < tc.killAt/2 || nb.FirstError > tc.killAt+time.Second ||
				nb.LastError < nb.FirstError || nb.LastError > res.Elapsed {
				t.Errorf("error window %v to %v of %v, killed at about %v", nb.FirstError, nb.LastError, res.Elapsed, tc.killAt)
			}
			misses := stats(t, a.Addr)["get_misses"]
			switch {
			case tc.restart:
				// Load reaches the new node within a backoff of its start.
				if nb.LastError > restartedAt+redialMax+500*time.Millisecond {
					t.Errorf("errors until %v, the node was back at %v", nb.LastError, restartedAt)
				}
				st := stats(t, b.Addr)
				if st["cmd_set"] == 0 || st["get_misses"] == 0 {
					t.Errorf("the restarted node got %d sets, %d misses", st["cmd_set"], st["get_misses"])
				}
				misses += st["get_misses"] // it started empty
			case tc.requests == 0:
				if nb.LastError < res.Elapsed-500*time.Millisecond {
					t.Errorf("errors ended at %v of %v with the node dead", nb.LastError, res.Elapsed)
				}
			default:
				if res.Ops+res.Failed != tc.requests {
					t.Errorf("%d answered + %d failed, want %d requests", res.Ops, res.Failed, tc.requests)
				}
			}
			// Every miss counted is a miss a node answered.
			if res.Misses != misses {
				t.Errorf("%d misses counted, the nodes answered %d", res.Misses, misses)
			}
		})
	}
}

// runAndKill runs cfg, kills b at killAt and, if restart, starts it again
// a second later. It returns the result and when b was back, measured from
// before the run (so at or after it, measured from the load's start).
func runAndKill(t *testing.T, cfg Config, b *testproc.Proc, killAt time.Duration, restart bool) (*Result, time.Duration) {
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		res, err := Run(context.Background(), cfg)
		done <- outcome{res, err}
	}()
	time.Sleep(killAt)
	b.Kill()
	var back time.Duration
	if restart {
		time.Sleep(time.Second)
		b.Restart()
		back = time.Since(start)
	}
	out := <-done
	if out.err != nil {
		t.Fatalf("run: %v", out.err)
	}
	if cfg.Duration > 0 && out.res.Elapsed < cfg.Duration {
		t.Errorf("run ended after %v of %v", out.res.Elapsed, cfg.Duration)
	}
	return out.res, back
}

// checkAccounts asserts that a run's counts add up: answered requests are
// sets and gets, each answered get's one key a hit or a miss, every
// answered request timed once, and every value read back right.
func checkAccounts(t *testing.T, res *Result) {
	t.Helper()
	if res.Sets+res.Gets != res.Ops || res.Hits+res.Misses != res.Keys || res.Keys != res.Gets ||
		res.Latency.Count != res.Ops || res.Errors != 0 || res.VerifyErrors != 0 {
		t.Errorf("requests %d: %d sets + %d gets; keys %d: %d hits + %d misses; %d timed; %d errors, %d wrong values",
			res.Ops, res.Sets, res.Gets, res.Keys, res.Hits, res.Misses, res.Latency.Count, res.Errors, res.VerifyErrors)
	}
	if res.Ops == 0 || res.Failed == 0 {
		t.Errorf("%d answered, %d failed", res.Ops, res.Failed)
	}
}
