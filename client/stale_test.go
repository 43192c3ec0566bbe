package client

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestPausedNodeComesBackWithoutStaleReads: a node that stops answering
// (SIGSTOP) for longer than the client's Timeout, but not long enough for
// any list to drop it, keeps the values it had; the client, which wrote
// that node's keys to their fail-over owners meanwhile, must not read them
// back from it when a probe finds it answering again.
func TestPausedNodeComesBackWithoutStaleReads(t *testing.T) {
	if testing.Short() {
		t.Skip("pauses a node for seconds")
	}
	servers := startShoalServers(t, 3)
	c := newStatic(t, servers, func(cfg *Config) { cfg.Timeout = 500 * time.Millisecond })
	victim := servers[1]
	load := startChaos(t, c, 4, 200)
	time.Sleep(500 * time.Millisecond) // every key written and read on its owner
	before := load.tally()
	victim.pause()
	waitFor(t, 5*time.Second, "paused node routed around", func() bool { return !slices.Contains(liveAddrs(c), victim.addr) })
	time.Sleep(time.Second) // its keys are written on their fail-over owners
	victim.resume()
	waitFor(t, 5*time.Second, "node routed to again", func() bool { return slices.Contains(liveAddrs(c), victim.addr) })
	back := load.tally()
	time.Sleep(time.Second)
	load.stopChaos()
	during, after := back.sub(before), load.tally().sub(back)
	t.Logf("pause until routed to again: %v", during)
	t.Logf("1 s after: %v", after)
	t.Logf("%s", load.errWindow())
	if during.stale+after.stale != 0 || during.wrong+after.wrong != 0 {
		t.Errorf("%d stale reads, %d wrong values", during.stale+after.stale, during.wrong+after.wrong)
	}
}

// TestFailoverNoStaleReads runs a read-write load on a 3-node cluster while
// one node is stopped (SIGSTOP) past failure detection and continued, then
// killed and restarted twice. After each event settles no read is stale,
// and at each failure the fail-over owners' copies from the failure before
// have expired (FailoverTTL) rather than come back stale.
//
//	go test -run TestFailoverNoStaleReads -v ./client
func TestFailoverNoStaleReads(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a cluster through failures for 20 s")
	}
	const failoverTTL = 2 * time.Second
	cl := startCluster(t, 3)
	c := newDiscovering(t, []string{cl.endpoint.addr}, func(cfg *Config) {
		cfg.FailoverTTL, cfg.Timeout = failoverTTL, time.Second
	})
	victim, others := cl.nodes[1], []*shoalProc{cl.nodes[0], cl.nodes[2]}
	load := startChaos(t, c, 4, 300)
	time.Sleep(500 * time.Millisecond)
	var total tally
	began := time.Now()
	phase := func(name string, from tally) tally {
		now := load.tally()
		d := now.sub(from)
		t.Logf("%-36s %5.1fs %v", name+":", time.Since(began).Seconds(), d)
		total.stale += d.stale
		total.wrong += d.wrong
		return now
	}

	mark := load.tally()
	paused := &server{addr: victim.addr, proc: victim.proc}
	paused.pause()
	cl.waitActive(t, others...)
	time.Sleep(1500 * time.Millisecond) // writes go on without it
	mark = phase("SIGSTOP until dropped, +1.5 s", mark)
	paused.resume()
	cl.waitActive(t, cl.nodes...)
	waitLive(t, c, cl.nodes...)
	mark = phase("SIGCONT until listed and routed to", mark)
	time.Sleep(time.Second)
	mark = phase("settled, 1 s", mark)

	for cycle := 1; cycle <= 2; cycle++ {
		time.Sleep(failoverTTL + 1500*time.Millisecond) // the copies of the failure before expire
		mark = phase("between failures", mark)
		victim.kill()
		cl.waitActive(t, others...)
		time.Sleep(500 * time.Millisecond)
		mark = phase("SIGKILL "+strconv.Itoa(cycle)+" until dropped, +0.5 s", mark)
		victim.proc.Restart()
		cl.waitActive(t, cl.nodes...)
		waitLive(t, c, cl.nodes...)
		mark = phase("restart "+strconv.Itoa(cycle)+" until routed to", mark)
		time.Sleep(time.Second)
		mark = phase("settled, 1 s", mark)
	}
	load.stopChaos()
	t.Logf("whole run: %v; %s", load.tally(), load.errWindow())
	if total.stale != 0 || total.wrong != 0 {
		t.Errorf("%d stale reads, %d wrong values", total.stale, total.wrong)
	}
}

// nodeFlushesOnDrop says whether a node empties its cache when it learns it
// was dropped from the published list (discovery.Config.OnDropped, wired in
// cmd/shoal/node.go). Set it to true once discovery calls OnDropped.
const nodeFlushesOnDrop = true

// TestDroppedNodeReturnsEmpty: a node stopped past failure detection holds
// values that were rewritten elsewhere meanwhile. A client that did not
// write them (here, one started after the fault) has nothing to repair
// them with: only the node, flushing itself when it learns it was dropped,
// keeps that client from reading them.
func TestDroppedNodeReturnsEmpty(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for failure detection")
	}
	if !nodeFlushesOnDrop {
		t.Skip("needs discovery to call Config.OnDropped")
	}
	cl := startCluster(t, 3)
	victim, others := cl.nodes[1], []*shoalProc{cl.nodes[0], cl.nodes[2]}
	writer := newDiscovering(t, []string{cl.endpoint.addr}, nil)
	ctx := context.Background()
	keys := make([]string, 300)
	var victims []string
	for i := range keys {
		keys[i] = "dropped:" + strconv.Itoa(i)
		if ownerAddr(writer, keys[i]) == victim.addr {
			victims = append(victims, keys[i])
		}
	}
	setAll := func(seq uint64) {
		for _, k := range keys {
			if err := writer.Set(ctx, &Item{Key: k, Value: chaosValue(k, seq)}); err != nil {
				t.Fatalf("set %s: %v", k, err)
			}
		}
	}
	setAll(1)
	paused := &server{addr: victim.addr, proc: victim.proc}
	paused.pause()
	cl.waitActive(t, others...)
	waitLive(t, writer, others...)
	setAll(2)
	writer.Close()
	paused.resume()
	cl.waitActive(t, cl.nodes...)

	reader := newDiscovering(t, []string{cl.endpoint.addr}, nil)
	stale := 0
	for _, k := range keys {
		it, err := reader.Get(ctx, k)
		if errors.Is(err, ErrCacheMiss) {
			continue
		}
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		if seq, ok := parseChaos(k, it.Value); !ok || seq != 2 {
			stale++
		}
	}
	held, err := paused.direct().GetMulti(victims)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d keys read stale; the returned node holds %d of its %d keys", stale, len(keys), len(held), len(victims))
	if stale != 0 || len(held) != 0 {
		t.Errorf("%d stale reads; the returned node kept %d keys, want 0", stale, len(held))
	}
}
