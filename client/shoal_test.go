package client

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/protocol"
)

func TestMain(m *testing.M) { testproc.Main(m) }

// A shoalProc is a shoal endpoint or node process on loopback.
type shoalProc struct {
	addr   string // memcached protocol
	gossip string
	proc   *testproc.Proc
}

// gossipFlags make tests see a dead node within a second.
var gossipFlags = testproc.FastGossip

func startEndpoint(t testing.TB) *shoalProc {
	return startShoal(t, "endpoint", "")
}

func startShoalNode(t testing.TB, join string) *shoalProc {
	return startShoal(t, "node", join)
}

func startShoal(t testing.TB, role, join string) *shoalProc {
	t.Helper()
	gossip := testproc.FreeAddr(t)
	args := append([]string{role, "--gossip", gossip}, gossipFlags...)
	if join != "" {
		args = append(args, "--join", join)
	}
	p := testproc.StartShoal(t, args...)
	return &shoalProc{addr: p.Addr, gossip: gossip, proc: p}
}

// kill ends the process at once, as a crash would.
func (p *shoalProc) kill() { p.proc.Kill() }

// stop ends the process as an operator would: it leaves the list, then
// stops; it is killed if it is still running 10 s later.
func (p *shoalProc) stop() {
	p.proc.Signal(syscall.SIGTERM)
	select {
	case <-p.proc.Exited():
	case <-time.After(10 * time.Second):
		p.proc.Kill()
	}
}

// published reads the shoal-cluster list a member publishes.
func published(t testing.TB, addr string) protocol.ClusterConfig {
	t.Helper()
	cfg, err := (&Client{cfg: Config{Timeout: testTimeout}}).fetch(context.Background(), addr)
	if err != nil {
		t.Fatalf("config from %s: %v", addr, err)
	}
	return cfg
}

// liveAddrs lists the nodes of the client's ring, sorted.
func liveAddrs(c *Client) []string {
	var a []string
	for _, n := range c.cur.Load().live {
		a = append(a, n.String())
	}
	slices.Sort(a)
	return a
}

func shoalAddrs(procs ...*shoalProc) []string {
	var a []string
	for _, p := range procs {
		a = append(a, p.addr)
	}
	slices.Sort(a)
	return a
}

// cluster is an endpoint and nodes joined to it.
type cluster struct {
	endpoint *shoalProc
	nodes    []*shoalProc
}

// startCluster starts an endpoint and n nodes, and waits until the endpoint
// publishes them all as active.
func startCluster(t testing.TB, n int) *cluster {
	t.Helper()
	cl := &cluster{endpoint: startEndpoint(t)}
	for range n {
		cl.nodes = append(cl.nodes, startShoalNode(t, cl.endpoint.gossip))
	}
	cl.waitActive(t, cl.nodes...)
	return cl
}

// addNode starts a node that joins the cluster and waits until it is active.
func (cl *cluster) addNode(t testing.TB) *shoalProc {
	t.Helper()
	n := startShoalNode(t, cl.endpoint.gossip)
	cl.nodes = append(cl.nodes, n)
	cl.waitActive(t, cl.nodes...)
	return n
}

// waitActive waits until the endpoint publishes exactly nodes, as active.
func (cl *cluster) waitActive(t testing.TB, nodes ...*shoalProc) {
	t.Helper()
	want := shoalAddrs(nodes...)
	waitFor(t, 10*time.Second, fmt.Sprintf("endpoint publishes %v", want), func() bool {
		return slices.Equal(testproc.ActiveAddrs(published(t, cl.endpoint.addr)), want)
	})
}

// newDiscovering is a client of the cluster's endpoint, polling fast.
func newDiscovering(t testing.TB, endpoints []string, tune func(*Config)) *Client {
	t.Helper()
	cfg := Config{Endpoints: endpoints, PollInterval: 50 * time.Millisecond, ProbeInterval: 50 * time.Millisecond, Timeout: testTimeout}
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitLive waits until the client's ring holds exactly nodes.
func waitLive(t testing.TB, c *Client, nodes ...*shoalProc) {
	t.Helper()
	want := shoalAddrs(nodes...)
	waitFor(t, 10*time.Second, fmt.Sprintf("client routes to %v", want), func() bool {
		return slices.Equal(liveAddrs(c), want)
	})
}
