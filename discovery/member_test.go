package discovery

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/protocol"
)

// These tests run real memberlist members in this process, each on its own
// loopback address (127.0.0.x) and a free gossip port, with faster timing
// than the defaults, though not so fast that a busy machine running the
// race detector makes members suspect one another.

func fastTiming() Timing {
	return Timing{
		ProbeInterval:           200 * time.Millisecond,
		ProbeTimeout:            100 * time.Millisecond,
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 2,
		GossipInterval:          50 * time.Millisecond,
		PushPullInterval:        2 * time.Second,
		TCPTimeout:              time.Second,
		ReconcileInterval:       200 * time.Millisecond,
		SyncTimeout:             300 * time.Millisecond,
		RejoinInterval:          time.Second,
	}
}

func testLogger(t *testing.T) *zap.Logger {
	if os.Getenv("SHOAL_TEST_LOG") == "" {
		return zap.NewNop()
	}
	l, err := zap.NewDevelopment()
	if err != nil {
		t.Fatal(err)
	}
	return l.Named(t.Name())
}

// cluster tracks the members a test started and stops them at its end.
type cluster struct {
	t       *testing.T
	mu      sync.Mutex
	members map[string]*Member
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{t: t, members: map[string]*Member{}}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, m := range c.members {
			m.halt()
		}
	})
	return c
}

// start starts a member named name with role r on 127.0.0.<host>; nodes
// publish port 11000+host.
func (c *cluster) start(name string, r Role, host int) *Member {
	c.t.Helper()
	m, err := c.tryStart(name, r, host)
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

func (c *cluster) tryStart(name string, r Role, host int) (*Member, error) {
	ip := fmt.Sprintf("127.0.0.%d", host)
	cfg := Config{Name: name, Role: r, BindAddr: ip, IP: ip, Port: 11000 + host, Timing: fastTiming()}
	c.mu.Lock()
	for _, m := range c.members {
		cfg.Join = append(cfg.Join, m.GossipAddr())
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := Join(ctx, cfg, testLogger(c.t))
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.members[name] = m
	return m, nil
}

// crash stops a member without telling anyone.
func (c *cluster) crash(name string) {
	c.mu.Lock()
	m := c.members[name]
	delete(c.members, name)
	c.mu.Unlock()
	m.halt()
}

func (c *cluster) leave(name string) {
	c.t.Helper()
	c.mu.Lock()
	m := c.members[name]
	delete(c.members, name)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Leave(ctx); err != nil {
		c.t.Fatalf("leave %s: %v", name, err)
	}
}

// agree waits until every member publishes the same extended body, equal
// to want apart from the version, and returns that version.
func (c *cluster) agree(within time.Duration, want string) uint64 {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		bodies := map[string]string{}
		c.mu.Lock()
		for name, m := range c.members {
			b, ok := m.ClusterConfig(protocol.ShoalClusterKey)
			if !ok {
				c.t.Fatalf("%s has no shoal-cluster configuration", name)
			}
			bodies[name] = string(b)
		}
		c.mu.Unlock()
		var first string
		same := true
		for _, b := range bodies {
			if first == "" {
				first = b
			}
			same = same && b == first
		}
		ver, list, _ := strings.Cut(first, "\n")
		if same && list == want+"\n" {
			var v uint64
			fmt.Sscan(ver, &v)
			return v
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("members did not agree on %q within %v: %q", want, within, bodies)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMembersFormCluster(t *testing.T) {
	c := newCluster(t)
	ep := c.start("endpoint", RoleEndpoint, 10)
	if b, ok := ep.ClusterConfig(protocol.ClusterKey); ok {
		t.Errorf("a cluster without nodes publishes %q", b)
	}
	if b, ok := ep.ClusterConfig(protocol.ShoalClusterKey); !ok || string(b) != "0\n\n" {
		t.Errorf("shoal-cluster of a cluster without nodes: %q, %v", b, ok)
	}
	c.start("n1", RoleNode, 11)
	c.start("n2", RoleNode, 12)
	n3 := c.start("n3", RoleNode, 13)
	v := c.agree(10*time.Second, "127.0.0.11|127.0.0.11|11011|0|active 127.0.0.12|127.0.0.12|11012|1|active 127.0.0.13|127.0.0.13|11013|2|active")
	std, _ := n3.ClusterConfig(protocol.ClusterKey)
	want := fmt.Sprintf("%d\n127.0.0.11|127.0.0.11|11011 127.0.0.12|127.0.0.12|11012 127.0.0.13|127.0.0.13|11013\n", v)
	if string(std) != want {
		t.Errorf("cluster body %q; want %q", std, want)
	}
	legacy, _ := n3.ClusterConfig(protocol.LegacyClusterKey)
	if string(legacy) != want {
		t.Errorf("legacy body %q; want %q", legacy, want)
	}
	if _, ok := n3.ClusterConfig("other"); ok {
		t.Error("an unknown key has a configuration")
	}
}

func TestCrashedNodeDropsAndReturns(t *testing.T) {
	c := newCluster(t)
	c.start("endpoint", RoleEndpoint, 20)
	c.start("n1", RoleNode, 21)
	c.start("n2", RoleNode, 22)
	c.start("n3", RoleNode, 23)
	v1 := c.agree(10*time.Second, "127.0.0.21|127.0.0.21|11021|0|active 127.0.0.22|127.0.0.22|11022|1|active 127.0.0.23|127.0.0.23|11023|2|active")

	c.crash("n2")
	v2 := c.agree(10*time.Second, "127.0.0.21|127.0.0.21|11021|0|active 127.0.0.23|127.0.0.23|11023|2|active")
	if v2 <= v1 {
		t.Errorf("version went from %d to %d after a crash", v1, v2)
	}

	// Back under the same name at another address: the old position.
	c.start("n2", RoleNode, 24)
	v3 := c.agree(10*time.Second, "127.0.0.21|127.0.0.21|11021|0|active 127.0.0.24|127.0.0.24|11024|1|active 127.0.0.23|127.0.0.23|11023|2|active")
	if v3 <= v2 {
		t.Errorf("version went from %d to %d after a return", v2, v3)
	}
}

func TestNewNodeTakesLowestFreePosition(t *testing.T) {
	c := newCluster(t)
	c.start("n1", RoleNode, 30)
	c.start("n2", RoleNode, 31)
	c.start("n3", RoleNode, 32)
	c.agree(10*time.Second, "127.0.0.30|127.0.0.30|11030|0|active 127.0.0.31|127.0.0.31|11031|1|active 127.0.0.32|127.0.0.32|11032|2|active")
	c.leave("n2")
	c.agree(10*time.Second, "127.0.0.30|127.0.0.30|11030|0|active 127.0.0.32|127.0.0.32|11032|2|active")
	c.start("n4", RoleNode, 33)
	c.agree(10*time.Second, "127.0.0.30|127.0.0.30|11030|0|active 127.0.0.33|127.0.0.33|11033|1|active 127.0.0.32|127.0.0.32|11032|2|active")
}

// TestLeaveUnlistsFirst checks that a leaving node is out of the standard
// list on every other member before Leave returns.
func TestLeaveUnlistsFirst(t *testing.T) {
	c := newCluster(t)
	c.start("endpoint", RoleEndpoint, 40)
	c.start("n1", RoleNode, 41)
	n2 := c.start("n2", RoleNode, 42)
	c.agree(10*time.Second, "127.0.0.41|127.0.0.41|11041|0|active 127.0.0.42|127.0.0.42|11042|1|active")
	others := []*Member{c.members["endpoint"], c.members["n1"]}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.mu.Lock()
	delete(c.members, "n2")
	c.mu.Unlock()
	if err := n2.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	// Leave waited for its own copy of the table; the coordinator sent
	// the same table to the others at the same time, so allow them a
	// moment, but far less than failure detection would take.
	deadline := time.Now().Add(500 * time.Millisecond)
	for _, m := range others {
		for {
			b, _ := m.ClusterConfig(protocol.ClusterKey)
			if !strings.Contains(string(b), "127.0.0.42") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still lists the leaving node: %q", m.Name(), b)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	c.agree(10*time.Second, "127.0.0.41|127.0.0.41|11041|0|active")
}

// TestEndpointLossKeepsCluster crashes the coordinating endpoint: a node
// takes over, numbering above everything the endpoint published.
func TestEndpointLossKeepsCluster(t *testing.T) {
	c := newCluster(t)
	c.start("endpoint", RoleEndpoint, 50)
	c.start("n1", RoleNode, 51)
	c.start("n2", RoleNode, 52)
	v1 := c.agree(10*time.Second, "127.0.0.51|127.0.0.51|11051|0|active 127.0.0.52|127.0.0.52|11052|1|active")
	c.crash("endpoint")
	c.start("n3", RoleNode, 53)
	v2 := c.agree(10*time.Second, "127.0.0.51|127.0.0.51|11051|0|active 127.0.0.52|127.0.0.52|11052|1|active 127.0.0.53|127.0.0.53|11053|2|active")
	if v2 <= v1 {
		t.Errorf("version went from %d to %d across the coordinator change", v1, v2)
	}
	// The endpoint comes back with no state of its own: it learns the
	// current table and carries on above it.
	c.start("endpoint", RoleEndpoint, 54)
	c.leave("n1")
	v3 := c.agree(10*time.Second, "127.0.0.52|127.0.0.52|11052|1|active 127.0.0.53|127.0.0.53|11053|2|active")
	if v3 <= v2 {
		t.Errorf("version went from %d to %d after the endpoint returned", v2, v3)
	}
}

// TestConcurrentJoinsGetDistinctPositions starts nodes all at once.
func TestConcurrentJoinsGetDistinctPositions(t *testing.T) {
	c := newCluster(t)
	c.start("endpoint", RoleEndpoint, 60)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 1; i <= 6; i++ {
		wg.Go(func() {
			if _, err := c.tryStart(fmt.Sprint("n", i), RoleNode, 60+i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Joins raced, so any order is right as long as every member agrees
	// on one and positions are 0..5 with each node once.
	var got protocol.ClusterConfig
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = c.members["endpoint"].Cluster()
		if len(got.Nodes) == 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	body := string(protocol.AppendClusterBody(nil, got, true))
	_, list, _ := strings.Cut(body, "\n")
	c.agree(10*time.Second, strings.TrimSuffix(list, "\n"))
	ips := map[string]bool{}
	for i, n := range got.Nodes {
		if n.Position != i || n.State != protocol.StateActive {
			t.Errorf("node %d is %+v; want position %d, active", i, n, i)
		}
		ips[n.IP] = true
	}
	if len(ips) != 6 {
		t.Errorf("nodes %q; want each of the 6 once", body)
	}
}

// TestVersionsNeverGoBack watches every member while nodes come and go and
// checks that no member ever publishes a lower version than it did before,
// and that members publishing one version publish one list.
func TestVersionsNeverGoBack(t *testing.T) {
	c := newCluster(t)
	c.start("endpoint", RoleEndpoint, 70)
	c.start("n1", RoleNode, 71)

	stop := make(chan struct{})
	seen := map[uint64]string{}
	var problems []string
	var watch sync.WaitGroup
	watch.Go(func() {
		last := map[string]uint64{}
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			c.mu.Lock()
			for name, m := range c.members {
				b, _ := m.ClusterConfig(protocol.ShoalClusterKey)
				cfg, err := protocol.ParseClusterBody(b)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", name, err))
					continue
				}
				if cfg.Version < last[name] {
					problems = append(problems, fmt.Sprintf("%s went from version %d to %d", name, last[name], cfg.Version))
				}
				last[name] = cfg.Version
				if prev, ok := seen[cfg.Version]; ok && prev != string(b) && cfg.Version > 0 {
					problems = append(problems, fmt.Sprintf("version %d published as %q and %q", cfg.Version, prev, b))
				}
				seen[cfg.Version] = string(b)
			}
			c.mu.Unlock()
		}
	})
	c.start("n2", RoleNode, 72)
	c.start("n3", RoleNode, 73)
	c.leave("n2")
	c.crash("endpoint")
	c.start("n4", RoleNode, 74)
	c.agree(10*time.Second, "127.0.0.71|127.0.0.71|11071|0|active 127.0.0.74|127.0.0.74|11074|1|active 127.0.0.73|127.0.0.73|11073|2|active")
	close(stop)
	watch.Wait()
	for _, p := range problems {
		t.Error(p)
	}
}

func TestJoinRejectsBadConfig(t *testing.T) {
	base := Config{Name: "n", Role: RoleNode, BindAddr: "127.0.0.1", IP: "127.0.0.1", Port: 11211, Timing: fastTiming()}
	tests := map[string]func(*Config){
		"no name":          func(c *Config) { c.Name = "" },
		"bad role":         func(c *Config) { c.Role = "boss" },
		"no port":          func(c *Config) { c.Port = 0 },
		"port too big":     func(c *Config) { c.Port = 70000 },
		"bar in host":      func(c *Config) { c.Host = "a|b" },
		"probe timeout":    func(c *Config) { c.Timing.ProbeTimeout = c.Timing.ProbeInterval },
		"suspicion":        func(c *Config) { c.Timing.SuspicionMult = 0 },
		"no sync timeout":  func(c *Config) { c.Timing.SyncTimeout = 0 },
		"gossip port":      func(c *Config) { c.BindPort = -1 },
		"metadata too big": func(c *Config) { c.Host = strings.Repeat("h", 253); c.IP = strings.Repeat("1", 253) },
	}
	for name, mutate := range tests {
		cfg := base
		mutate(&cfg)
		if m, err := Join(context.Background(), cfg, nil); err == nil {
			m.halt()
			t.Errorf("%s: Join accepted %+v", name, cfg)
		}
	}
}

// TestAddressDefaults checks what a node publishes when told less: its host
// defaults to its IP, and its IP to its gossip address.
func TestAddressDefaults(t *testing.T) {
	c := newCluster(t)
	// Its own gossip address in its join list: one list for every member.
	m, err := Join(context.Background(), Config{Name: "bare", Role: RoleNode, BindAddr: "127.0.0.90", BindPort: 17946,
		Port: 11090, Join: []string{"127.0.0.90:17946"}, Timing: fastTiming()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.members["bare"] = m
	c.mu.Unlock()
	c.start("named", RoleNode, 91)
	c.agree(10*time.Second, "127.0.0.90|127.0.0.90|11090|0|active 127.0.0.91|127.0.0.91|11091|1|active")
}

func TestJoinGivesUpWhenNobodyAnswers(t *testing.T) {
	cfg := Config{Name: "n", Role: RoleNode, BindAddr: "127.0.0.80", IP: "127.0.0.80", Port: 11211,
		Join: []string{"127.0.0.81:1"}, Timing: fastTiming()}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	m, err := Join(ctx, cfg, nil)
	if err == nil {
		m.halt()
		t.Fatal("Join succeeded with nobody to join")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Join took %v to give up; the context allowed 1.5s", d)
	}
}

// TestGossipKey checks that members with the key form a cluster and a
// member without it cannot join them.
func TestGossipKey(t *testing.T) {
	key := []byte("0123456789abcdef")
	start := func(name string, host int, key []byte, join ...string) (*Member, error) {
		ip := fmt.Sprintf("127.0.0.%d", host)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return Join(ctx, Config{Name: name, Role: RoleNode, BindAddr: ip, IP: ip, Port: 11000 + host,
			SecretKey: key, Join: join, Timing: fastTiming()}, nil)
	}
	a, err := start("a", 100, key)
	if err != nil {
		t.Fatal(err)
	}
	defer a.halt()
	b, err := start("b", 101, key, a.GossipAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer b.halt()
	if got := len(b.Cluster().Nodes); got != 2 {
		t.Errorf("keyed member sees %d nodes; want 2", got)
	}
	if m, err := start("c", 102, nil, a.GossipAddr()); err == nil {
		m.halt()
		t.Error("a member without the key joined")
	}
	if m, err := start("d", 103, []byte("fedcba9876543210"), a.GossipAddr()); err == nil {
		m.halt()
		t.Error("a member with another key joined")
	}
	if _, err := start("e", 104, []byte("short")); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

// A member with an allow list takes gossip only from the listed networks:
// a member from elsewhere cannot join through it, and is never listed.
func TestGossipAllowList(t *testing.T) {
	start := func(name string, host int, allow []netip.Prefix, join ...string) (*Member, error) {
		ip := fmt.Sprintf("127.0.0.%d", host)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return Join(ctx, Config{Name: name, Role: RoleNode, BindAddr: ip, IP: ip, Port: 11000 + host,
			Allow: allow, Join: join, Timing: fastTiming()}, nil)
	}
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.120/30")} // .120 to .123
	a, err := start("a", 120, allow)
	if err != nil {
		t.Fatal(err)
	}
	defer a.halt()
	b, err := start("b", 121, allow, a.GossipAddr())
	if err != nil {
		t.Fatalf("a member from an allowed network: %v", err)
	}
	defer b.halt()
	if m, err := start("outsider", 130, nil, a.GossipAddr()); err == nil {
		defer m.halt()
		t.Error("a member from outside the allow list joined")
	}
	time.Sleep(500 * time.Millisecond)
	for _, n := range a.Cluster().Nodes {
		if n.IP == "127.0.0.130" {
			t.Fatalf("the outsider is listed: %+v", a.Cluster().Nodes)
		}
	}
}
