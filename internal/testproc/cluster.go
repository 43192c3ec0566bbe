package testproc

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/protocol"
)

// FastGossip tunes failure detection so that a test sees a dead node
// within about a second.
var FastGossip = []string{
	"--probe-interval", "100ms", "--probe-timeout", "50ms",
	"--suspicion-mult", "2", "--suspicion-max-mult", "2",
	"--push-pull-interval", "1s", "--leave-grace", "200ms", "--join-timeout", "5s",
}

// A Member is a shoal endpoint or node process of a cluster on loopback.
type Member struct {
	*Proc
	Gossip  string // its gossip address
	Metrics string // its --metrics address; "" when it serves none
}

// StartMember runs `shoal ROLE --gossip ADDR` with FastGossip, joining join
// unless it is empty, and args.
func StartMember(tb testing.TB, role, join string, args ...string) *Member {
	tb.Helper()
	gossip := FreeAddr(tb)
	all := slices.Concat([]string{role, "--gossip", gossip}, FastGossip, args)
	if join != "" {
		all = append(all, "--join", join)
	}
	return &Member{Proc: StartShoal(tb, all...), Gossip: gossip}
}

// StartMetricsMember is StartMember serving Prometheus metrics too, on
// a free loopback port (Member.Metrics).
func StartMetricsMember(tb testing.TB, role, join string, args ...string) *Member {
	tb.Helper()
	addr := FreeAddr(tb)
	m := StartMember(tb, role, join, slices.Concat(args, []string{"--metrics", addr})...)
	m.Metrics = addr
	return m
}

// A Cluster is a configuration endpoint and the nodes joined to it.
type Cluster struct {
	Endpoint *Member
	Nodes    []*Member
	nodeArgs []string
	start    func(tb testing.TB, role, join string, args ...string) *Member
}

// StartCluster starts an endpoint and n nodes with nodeArgs, and waits
// until the endpoint publishes them all as active.
func StartCluster(tb testing.TB, n int, nodeArgs ...string) *Cluster {
	tb.Helper()
	return startCluster(tb, StartMember, n, nodeArgs)
}

// StartMetricsCluster is StartCluster with every member, the endpoint and
// the nodes added later too, serving metrics (StartMetricsMember).
func StartMetricsCluster(tb testing.TB, n int, nodeArgs ...string) *Cluster {
	tb.Helper()
	return startCluster(tb, StartMetricsMember, n, nodeArgs)
}

func startCluster(tb testing.TB, start func(testing.TB, string, string, ...string) *Member, n int, nodeArgs []string) *Cluster {
	tb.Helper()
	cl := &Cluster{Endpoint: start(tb, "endpoint", ""), nodeArgs: nodeArgs, start: start}
	for range n {
		cl.Nodes = append(cl.Nodes, start(tb, "node", cl.Endpoint.Gossip, nodeArgs...))
	}
	cl.WaitActive(tb, cl.Nodes...)
	return cl
}

// AddNode starts a node that joins the cluster and waits until the endpoint
// publishes it.
func (cl *Cluster) AddNode(tb testing.TB) *Member {
	tb.Helper()
	n := cl.start(tb, "node", cl.Endpoint.Gossip, cl.nodeArgs...)
	cl.Nodes = append(cl.Nodes, n)
	cl.WaitActive(tb, cl.Nodes...)
	return n
}

// WaitActive waits until the endpoint publishes exactly nodes, as active.
func (cl *Cluster) WaitActive(tb testing.TB, nodes ...*Member) {
	tb.Helper()
	want := Addrs(nodes...)
	var got []string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cfg, err := Published(cl.Endpoint.Addr); err == nil {
			if got = ActiveAddrs(cfg); slices.Equal(got, want) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("the endpoint publishes %v, want %v", got, want)
}

// Published is the shoal-cluster list a member publishes.
func Published(addr string) (protocol.ClusterConfig, error) {
	var cfg protocol.ClusterConfig
	err := exchange(addr, func(rw *bufio.ReadWriter) (err error) {
		cfg, err = protocol.FetchClusterConfig(rw, protocol.ShoalConfigRequest)
		return err
	})
	if err != nil {
		return cfg, fmt.Errorf("config from %s: %w", addr, err)
	}
	return cfg, nil
}

// Stats reads `stats GROUP` (plain stats for "") from a server.
func Stats(addr, group string) (protocol.Stats, error) {
	var st protocol.Stats
	err := exchange(addr, func(rw *bufio.ReadWriter) (err error) {
		st, err = protocol.RequestStats(rw, group)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("stats from %s: %w", addr, err)
	}
	return st, nil
}

// exchange runs f on a new connection to addr, within two seconds.
func exchange(addr string, f func(*bufio.ReadWriter) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	return f(bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn)))
}

// ActiveAddrs lists the active nodes of a list, sorted.
func ActiveAddrs(cfg protocol.ClusterConfig) []string {
	var a []string
	for _, n := range cfg.Nodes {
		if n.State == protocol.StateActive {
			a = append(a, n.Addr())
		}
	}
	slices.Sort(a)
	return a
}

// Addrs lists members' memcached addresses, sorted.
func Addrs(ms ...*Member) []string {
	var a []string
	for _, m := range ms {
		a = append(a, m.Addr)
	}
	slices.Sort(a)
	return a
}
