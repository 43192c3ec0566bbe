package client

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// The tests of this file run real shoal processes: a configuration endpoint
// and nodes that find one another by gossip.

// TestDiscovery: New reads the list from the first endpoint that answers,
// places each node at its published position, and keys land on their owners.
func TestDiscovery(t *testing.T) {
	cl := startCluster(t, 3)
	c := newDiscovering(t, []string{testproc.FreeAddr(t), cl.endpoint.addr}, nil)
	pub := published(t, cl.endpoint.addr)
	r := c.cur.Load()
	if r.version != pub.Version {
		t.Fatalf("client holds version %d, endpoint publishes %d", r.version, pub.Version)
	}
	for _, n := range pub.Nodes {
		if got := r.slots[n.Position]; got == nil || got.String() != n.Addr() {
			t.Fatalf("position %d: client has %v, endpoint publishes %s", n.Position, got, n.Addr())
		}
	}
	ctx := context.Background()
	var keys []string
	perNode := map[string]int{}
	for i := range 300 {
		k := "disc:" + strconv.Itoa(i)
		keys = append(keys, k)
		perNode[ownerAddr(c, k)]++
		if err := c.Set(ctx, &Item{Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range cl.nodes {
		got, err := (&server{addr: n.addr}).direct().GetMulti(keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != perNode[n.addr] || len(got) == 0 {
			t.Fatalf("node %s holds %d keys, owns %d", n.addr, len(got), perNode[n.addr])
		}
		for k, it := range got {
			if ownerAddr(c, k) != n.addr || string(it.Value) != k {
				t.Fatalf("node %s holds %q = %q, owned by %s", n.addr, k, it.Value, ownerAddr(c, k))
			}
		}
	}
	m, err := c.GetMulti(ctx, keys)
	if err != nil || len(m) != len(keys) {
		t.Fatalf("GetMulti: %d of %d keys, %v", len(m), len(keys), err)
	}
}

// TestDiscoveryJoinLeave: polling follows nodes that join and leave; a join
// moves keys only to the new node, a leave only the leaving node's keys, and
// a node that joins later takes the free position in the middle.
func TestDiscoveryJoinLeave(t *testing.T) {
	cl := startCluster(t, 3)
	c := newDiscovering(t, []string{cl.endpoint.addr}, nil)
	keys := make([]string, 3000)
	for i := range keys {
		keys[i] = "jl:" + strconv.Itoa(i)
	}
	owners := func() map[string]string {
		m := map[string]string{}
		for _, k := range keys {
			m[k] = ownerAddr(c, k)
		}
		return m
	}
	// checkMoves checks that keys moved only from the nodes in from or to
	// the node in to, and returns the fraction that moved.
	checkMoves := func(before, after map[string]string, from, to string) float64 {
		t.Helper()
		moved := 0
		for _, k := range keys {
			if before[k] == after[k] {
				continue
			}
			moved++
			if before[k] != from && after[k] != to {
				t.Fatalf("%q moved from %s to %s", k, before[k], after[k])
			}
		}
		return float64(moved) / float64(len(keys))
	}

	before := owners()
	n4 := cl.addNode(t)
	waitLive(t, c, cl.nodes...)
	after := owners()
	if f := checkMoves(before, after, "", n4.addr); f < 0.2 || f > 0.3 {
		t.Errorf("join of a 4th node moved %.3f of keys, want about 0.25", f)
	}

	pub := published(t, cl.endpoint.addr)
	var leaving *shoalProc
	for _, n := range pub.Nodes {
		if n.Position == 1 {
			leaving = cl.nodes[slices.IndexFunc(cl.nodes, func(p *shoalProc) bool { return p.addr == n.Addr() })]
		}
	}
	before = after
	leaving.stop()
	rest := slices.DeleteFunc(slices.Clone(cl.nodes), func(p *shoalProc) bool { return p == leaving })
	cl.nodes = rest
	cl.waitActive(t, rest...)
	waitLive(t, c, rest...)
	after = owners()
	if f := checkMoves(before, after, leaving.addr, ""); f < 0.2 || f > 0.3 {
		t.Errorf("leave of 1 of 4 nodes moved %.3f of keys, want about 0.25", f)
	}

	before = after
	n5 := cl.addNode(t)
	waitLive(t, c, cl.nodes...)
	for _, n := range published(t, cl.endpoint.addr).Nodes {
		if n.Addr() == n5.addr && n.Position != 1 {
			t.Errorf("new node at position %d, want the free position 1", n.Position)
		}
	}
	if f := checkMoves(before, owners(), "", n5.addr); f < 0.2 || f > 0.3 {
		t.Errorf("join of a node at the free position moved %.3f of keys, want about 0.25", f)
	}
}

// TestDiscoveryNodeKilled: a killed node is routed around by the client at
// once, and when the cluster publishes the list without it, no key moves a
// second time, whether it was in the middle or at the end.
func TestDiscoveryNodeKilled(t *testing.T) {
	cl := startCluster(t, 4)
	c := newDiscovering(t, []string{cl.endpoint.addr}, nil)
	ctx := context.Background()
	keys := make([]string, 2000)
	for i := range keys {
		keys[i] = "kill:" + strconv.Itoa(i)
	}
	for _, pos := range []int{1, 3} {
		var victim *shoalProc
		for _, n := range published(t, cl.endpoint.addr).Nodes {
			if n.Position == pos {
				victim = cl.nodes[slices.IndexFunc(cl.nodes, func(p *shoalProc) bool { return p.addr == n.Addr() })]
			}
		}
		before := map[string]string{}
		for _, k := range keys {
			before[k] = ownerAddr(c, k)
		}
		version := c.cur.Load().version
		victim.kill()
		// Calls go on without an error; the first one to the victim finds
		// it down.
		for _, k := range keys {
			if _, err := c.Get(ctx, k); err != nil && !errors.Is(err, ErrCacheMiss) {
				t.Fatalf("get %q after node %d was killed: %v", k, pos, err)
			}
		}
		local := map[string]string{}
		for _, k := range keys {
			local[k] = ownerAddr(c, k)
			if local[k] != before[k] && before[k] != victim.addr {
				t.Fatalf("%q moved from live node %s to %s", k, before[k], local[k])
			}
			if local[k] == victim.addr {
				t.Fatalf("%q still routed to the killed node", k)
			}
		}
		cl.nodes = slices.DeleteFunc(cl.nodes, func(p *shoalProc) bool { return p == victim })
		cl.waitActive(t, cl.nodes...)
		waitFor(t, 5*time.Second, "client applies the list without the killed node", func() bool {
			return c.cur.Load().version > version && !slices.Contains(liveAddrs(c), victim.addr)
		})
		for _, k := range keys {
			if now := ownerAddr(c, k); now != local[k] {
				t.Fatalf("node %d killed: %q moved again when the list came, from %s to %s", pos, k, local[k], now)
			}
		}
	}
}

// TestDiscoveryEndpointDown: with the endpoint gone, the client keeps
// serving with its list and learns changes from the nodes.
func TestDiscoveryEndpointDown(t *testing.T) {
	cl := startCluster(t, 3)
	core, logs := observer.New(zap.InfoLevel)
	c := newDiscovering(t, []string{cl.endpoint.addr}, func(cfg *Config) { cfg.Logger = zap.New(core) })
	ctx := context.Background()
	cl.endpoint.kill()
	time.Sleep(200 * time.Millisecond) // some polls fail
	for i := range 100 {
		k := "epdown:" + strconv.Itoa(i)
		if err := c.Set(ctx, &Item{Key: k, Value: []byte(k)}); err != nil {
			t.Fatalf("set with the endpoint down: %v", err)
		}
		if it, err := c.Get(ctx, k); err != nil || string(it.Value) != k {
			t.Fatalf("get with the endpoint down: %+v, %v", it, err)
		}
	}
	// A node joins through a node, and the client hears of it from the
	// nodes.
	n4 := startShoalNode(t, cl.nodes[0].gossip)
	all := append(slices.Clone(cl.nodes), n4)
	waitLive(t, c, all...)

	if n := logs.FilterMessage("configuration endpoint does not answer discovery").Len(); n != 1 {
		t.Errorf("endpoint failure logged %d times, want once", n)
	}
	nodes := shoalAddrs(cl.nodes...)
	var fromNodes int
	for _, e := range logs.FilterMessage("node list applied").All() {
		if slices.Contains(nodes, e.ContextMap()["source"].(string)) {
			fromNodes++
		}
	}
	if fromNodes == 0 {
		t.Error("no list was applied from a node")
	}
}

// TestDiscoveryHitRatio measures the hit ratio of reading every key once
// right after a 4th shoal node joins a cluster of 3, with and without
// warm-up.
//
//	go test -run TestDiscoveryHitRatio -v ./client
func TestDiscoveryHitRatio(t *testing.T) {
	for _, mode := range []struct {
		name   string
		window time.Duration
	}{{"without warm-up", -1}, {"with warm-up", time.Minute}} {
		t.Run(mode.name, func(t *testing.T) {
			cl := startCluster(t, 3)
			c := newDiscovering(t, []string{cl.endpoint.addr}, func(cfg *Config) { cfg.WarmupWindow = mode.window })
			ctx := context.Background()
			keys := make([]string, scaleOutKeys)
			before := map[string]string{}
			for i := range keys {
				keys[i] = "ratio:" + strconv.Itoa(i)
				before[keys[i]] = ownerAddr(c, keys[i])
				if err := c.Set(ctx, &Item{Key: keys[i], Value: []byte(keys[i])}); err != nil {
					t.Fatal(err)
				}
			}
			cl.addNode(t)
			waitLive(t, c, cl.nodes...)
			moved, misses := 0, 0
			for _, k := range keys {
				if ownerAddr(c, k) != before[k] {
					moved++
				}
				it, err := c.Get(ctx, k)
				switch {
				case errors.Is(err, ErrCacheMiss):
					misses++
				case err != nil:
					t.Fatal(err)
				case string(it.Value) != k:
					t.Fatalf("%q = %q", k, it.Value)
				}
			}
			t.Logf("scale-out 3 -> 4 shoal nodes, %s: hit ratio %.4f (%d misses of %d keys; %d moved)",
				mode.name, 1-float64(misses)/float64(len(keys)), misses, len(keys), moved)
			want := moved
			if mode.window > 0 {
				want = 0
			}
			if misses != want {
				t.Errorf("%d misses, want %d", misses, want)
			}
		})
	}
}
