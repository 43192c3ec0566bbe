package discovery

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/protocol"
)

// TestCluster runs an endpoint and cache nodes as real processes, each on
// its own loopback address, at default gossip timing, and takes the cluster
// through failures, returns and shutdowns, checking after each step that
// every member answers discovery with the same, strictly well-formed list.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and waits for failure detection")
	}
	c := newTestCluster(t, "127.0.2.1")
	c.start("endpoint", "127.0.2.1", "endpoint")
	// Three nodes joining at once: positions in whatever order they were
	// seen, but each exactly once.
	for i, ip := range []string{"127.0.2.11", "127.0.2.12", "127.0.2.13"} {
		c.start(fmt.Sprint("n", i+1), ip, "node")
	}
	v, _ := c.agree(20*time.Second, "the cluster forms", func(v view) error {
		return v.has(3)
	})
	t.Logf("formed: %q", v.std.payload)
	if v.std.version < 1 {
		t.Errorf("version %d", v.std.version)
	}
	c.checkStats("n1")

	// SIGKILL: gone from every member's list within 10 s, with a newer
	// version; the others keep their positions.
	pos := v.positions(c.prefix)
	victim := c.members["n2"]
	c.kill("n2", syscall.SIGKILL)
	v2, took := c.agree(10*time.Second, "a killed node is dropped", func(w view) error {
		if w.std.version <= v.std.version {
			return fmt.Errorf("version %d, before %d", w.std.version, v.std.version)
		}
		return w.exactly(c.prefix, pos, "n1", "n3")
	})
	t.Logf("SIGKILLed node dropped from every list in %v (version %d -> %d)", took.Round(10*time.Millisecond), v.std.version, v2.std.version)
	if err := victim.Wait(t, time.Second); err == nil {
		t.Error("the killed node exited cleanly")
	}

	// A new node takes the lowest free position: the one n2 left.
	c.start("n4", "127.0.2.14", "node")
	pos["n4"] = pos["n2"]
	v3, _ := c.agree(10*time.Second, "a new node appears", func(w view) error {
		return w.exactly(c.prefix, pos, "n1", "n3", "n4")
	})
	if v3.std.version <= v2.std.version {
		t.Errorf("version %d after %d", v3.std.version, v2.std.version)
	}

	// A node killed and restarted under its name, after the cluster
	// dropped it, gets its position back.
	c.kill("n3", syscall.SIGKILL)
	c.agree(10*time.Second, "a second killed node is dropped", func(w view) error {
		return w.exactly(c.prefix, pos, "n1", "n4")
	})
	c.start("n3", "127.0.2.13", "node")
	c.agree(10*time.Second, "a restarted node returns to its position", func(w view) error {
		return w.exactly(c.prefix, pos, "n1", "n3", "n4")
	})

	// Restarted at once, before failure detection: the node keeps its
	// position. Whether the list changes meanwhile (the new process shows
	// up as joining, then active) depends on whether the coordinator hears
	// of the new process before it refutes its old incarnation; both are
	// fine, so only the outcome is checked: the new process is listed, and
	// stays listed through the failure detection of the old one (the steps
	// below take longer than that).
	c.kill("n3", syscall.SIGKILL)
	n3 := c.start("n3", "127.0.2.13", "node")
	waitFor(t, 10*time.Second, "the restarted node joins", func() error {
		if !strings.Contains(n3.Output(), "joined cluster") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	c.agree(10*time.Second, "a node restarted at once keeps its position", func(w view) error {
		return w.exactly(c.prefix, pos, "n1", "n3", "n4")
	})

	// Cut off: a stopped process answers nothing, like a node behind a
	// broken link. It is dropped, and when it wakes it comes back where
	// it was.
	c.members["n1"].Signal(syscall.SIGSTOP)
	frozen := c.members["n1"]
	delete(c.members, "n1")
	_, took = c.agree(10*time.Second, "a cut-off node is dropped", func(w view) error {
		return w.exactly(c.prefix, pos, "n3", "n4")
	})
	t.Logf("stopped (SIGSTOP) node dropped from every list in %v", took.Round(10*time.Millisecond))
	frozen.Signal(syscall.SIGCONT)
	c.members["n1"] = frozen
	c.agree(10*time.Second, "a cut-off node returns", func(w view) error {
		return w.exactly(c.prefix, pos, "n1", "n3", "n4")
	})

	// SIGTERM drains: a client that follows the list never has a request
	// fail, and the node exits cleanly.
	c.drain("n4", c.members["endpoint"].addr)
	c.agree(10*time.Second, "a drained node is gone", func(w view) error {
		return w.exactly(c.prefix, pos, "n1", "n3")
	})

	// Without the endpoint, nodes still answer, and still publish changes.
	before := c.view(c.members["n1"].addr)
	c.kill("endpoint", syscall.SIGKILL)
	c.agree(2*time.Second, "nodes answer without the endpoint", func(w view) error {
		if w.std.payload != before.std.payload {
			return fmt.Errorf("payload %q; before %q", w.std.payload, before.std.payload)
		}
		return nil
	})
	c.start("n5", "127.0.2.15", "node")
	pos["n5"] = pos["n4"]
	v5, _ := c.agree(15*time.Second, "a node joins without the endpoint", func(w view) error {
		return w.exactly(c.prefix, pos, "n1", "n3", "n5")
	})
	if v5.std.version <= before.std.version {
		t.Errorf("version %d after %d", v5.std.version, before.std.version)
	}
}

const (
	testPort       = 21311
	testGossipPort = 27946
)

type member struct {
	*testproc.Proc
	ip   string
	addr string // memcached address
}

type testCluster struct {
	t       *testing.T
	members map[string]*member // those expected to be up
	// prefix is the address of node nN without its last digit: n3 is at
	// prefix+"3".
	prefix string
	extra  []string // flags every member gets
	dial   dialFunc
	// launch starts a shoal process; tests in a network namespace run it
	// there.
	launch func(name string, args ...string) *testproc.Proc
}

func newTestCluster(t *testing.T, prefix string) *testCluster {
	return &testCluster{t: t, members: map[string]*member{}, prefix: prefix, dial: dialLoopback,
		launch: func(name string, args ...string) *testproc.Proc {
			return testproc.Start(t, name, testproc.ShoalBinary(t), args...)
		}}
}

// start starts `shoal endpoint` or `shoal node` on ip, joining every
// member that is up.
func (c *testCluster) start(name, ip, role string, extra ...string) *member {
	c.t.Helper()
	args := []string{role, "-l", ip, "-p", fmt.Sprint(testPort), "--name", name,
		"--gossip", fmt.Sprintf("%s:%d", ip, testGossipPort)}
	if role == "node" {
		args = append(args, "-m", "8")
	}
	var join []string
	for _, m := range c.members {
		join = append(join, fmt.Sprintf("%s:%d", m.ip, testGossipPort))
	}
	if len(join) > 0 {
		args = append(args, "--join", strings.Join(join, ","))
	}
	args = append(append(args, c.extra...), extra...)
	m := &member{Proc: c.launch(name, args...), ip: ip, addr: fmt.Sprintf("%s:%d", ip, testPort)}
	c.members[name] = m
	return m
}

func (c *testCluster) kill(name string, sig syscall.Signal) {
	c.members[name].Signal(sig)
	delete(c.members, name)
}

// view is what one member answers to the three discovery requests.
type view struct {
	std  ecConfig               // config get cluster
	ext  protocol.ClusterConfig // config get shoal-cluster
	raw  string                 // the shoal-cluster payload
	errs []string
}

// view asks one member; every reply must be well-formed.
func (c *testCluster) view(addr string) view {
	var v view
	reply, err := exchangeVia(c.dial, addr, "config get cluster\r\n")
	if err == nil && string(reply) == "END\r\n" {
		err = fmt.Errorf("no configuration yet")
	}
	if err != nil {
		v.errs = append(v.errs, err.Error())
		return v
	}
	if v.std, err = parseECReply(reply, false); err != nil {
		c.t.Fatalf("%s: config get cluster: %v", addr, err)
	}
	reply, err = exchangeVia(c.dial, addr, "get AmazonElastiCache:cluster\r\n")
	if err == nil && string(reply) == "END\r\n" {
		err = fmt.Errorf("no configuration any more")
	}
	if err != nil {
		v.errs = append(v.errs, err.Error())
		return v
	}
	legacy, err := parseECReply(reply, true)
	if err != nil {
		c.t.Fatalf("%s: get AmazonElastiCache:cluster: %v", addr, err)
	}
	// Both asked in turn: equal unless the list changed in between.
	if legacy.version == v.std.version && legacy.payload != v.std.payload {
		c.t.Fatalf("%s: legacy payload %q differs from %q at one version", addr, legacy.payload, v.std.payload)
	}
	reply, err = exchangeVia(c.dial, addr, "config get shoal-cluster\r\n")
	if err != nil {
		v.errs = append(v.errs, err.Error())
		return v
	}
	rd := bufio.NewReader(bytes.NewReader(reply))
	payload, err := protocol.ReadConfigReply(rd, protocol.ShoalConfigRequest)
	if err != nil || rd.Buffered() != 0 {
		c.t.Fatalf("%s: config get shoal-cluster: bad framing %q: %v", addr, reply, err)
	}
	v.raw = string(payload)
	if v.ext, err = protocol.ParseClusterBody(payload); err != nil {
		c.t.Fatalf("%s: config get shoal-cluster: %v", addr, err)
	}
	return v
}

// agree waits until every member that is up answers the same lists and
// check accepts them; it returns them and how long that took.
func (c *testCluster) agree(within time.Duration, what string, check func(view) error) (view, time.Duration) {
	c.t.Helper()
	var got view
	took := waitFor(c.t, within, what, func() error {
		var first *view
		var firstName string
		for name, m := range c.members {
			v := c.view(m.addr)
			if len(v.errs) > 0 {
				return fmt.Errorf("%s: %v", name, v.errs)
			}
			if first == nil {
				first, firstName = &v, name
				continue
			}
			if v.std.payload != first.std.payload || v.raw != first.raw {
				return fmt.Errorf("%s answers %q, %s answers %q", name, v.raw, firstName, first.raw)
			}
		}
		if first.ext.Version != first.std.version {
			// Asked in turn: the list changed in between (a node held
			// joining, then listed active, is two tables in quick order).
			return fmt.Errorf("%s: the list changed between two reads", firstName)
		}
		if err := first.consistent(); err != nil {
			c.t.Fatalf("%s: %v", firstName, err)
		}
		got = *first
		return check(*first)
	})
	return got, took
}

// consistent checks that the standard list is the active part of the
// extended one, in position order, under the same version.
func (v view) consistent() error {
	if v.ext.Version != v.std.version {
		return fmt.Errorf("shoal-cluster version %d, cluster version %d", v.ext.Version, v.std.version)
	}
	var active []string
	last := -1
	for _, n := range v.ext.Nodes {
		if n.Position <= last {
			return fmt.Errorf("positions out of order in %q", v.raw)
		}
		last = n.Position
		if n.State == protocol.StateActive {
			active = append(active, fmt.Sprintf("%s|%s|%d", n.Host, n.IP, n.Port))
		}
	}
	if !slices.Equal(active, v.std.nodes) {
		return fmt.Errorf("cluster lists %q, active in shoal-cluster are %q", v.std.nodes, active)
	}
	return nil
}

// has checks that n nodes are active, at positions 0..n-1.
func (v view) has(n int) error {
	if len(v.ext.Nodes) != n || len(v.std.nodes) != n {
		return fmt.Errorf("%d nodes in %q", len(v.ext.Nodes), v.raw)
	}
	for i, node := range v.ext.Nodes {
		if node.Position != i || node.State != protocol.StateActive {
			return fmt.Errorf("node %d of %q", i, v.raw)
		}
	}
	return nil
}

// positions maps the test's node names (nN at prefix+N) to positions.
func (v view) positions(prefix string) map[string]int {
	pos := map[string]int{}
	for _, n := range v.ext.Nodes {
		pos["n"+strings.TrimPrefix(n.IP, prefix)] = n.Position
	}
	return pos
}

// exactly checks that the named nodes (nN at prefix+N), and no others, are
// listed, active, at the given positions.
func (v view) exactly(prefix string, pos map[string]int, names ...string) error {
	var want []string
	for _, name := range names {
		ip := prefix + strings.TrimPrefix(name, "n")
		want = append(want, fmt.Sprintf("%s|%[1]s|%d|%d|active", ip, testPort, pos[name]))
	}
	slices.SortFunc(want, func(a, b string) int { return strings.Compare(positionOf(a), positionOf(b)) })
	got := strings.TrimSuffix(v.raw[strings.IndexByte(v.raw, '\n')+1:], "\n")
	if got != strings.Join(want, " ") {
		return fmt.Errorf("listed %q; want %q", got, strings.Join(want, " "))
	}
	return nil
}

func positionOf(entry string) string {
	f := strings.Split(entry, "|")
	return fmt.Sprintf("%06s", f[3])
}

// checkStats checks the discovery counters ElastiCache adds to stats.
func (c *testCluster) checkStats(name string) {
	c.t.Helper()
	reply, err := exchangeVia(c.dial, c.members[name].addr, "config get cluster\r\nstats\r\n")
	if err != nil {
		c.t.Fatal(err)
	}
	s := string(reply)
	if !strings.Contains(s, "STAT curr_config 1\r\n") {
		c.t.Errorf("stats of %s lack curr_config 1", name)
	}
	if !strings.Contains(s, "STAT cmd_config_get ") || strings.Contains(s, "STAT cmd_config_get 0\r\n") {
		c.t.Errorf("stats of %s lack a counted cmd_config_get", name)
	}
}

// drain sends SIGTERM to a node while a client stores keys on it for as
// long as the configuration at listAddr lists it: no request may fail, and
// the node must leave the list, then exit cleanly.
func (c *testCluster) drain(name, listAddr string) {
	c.t.Helper()
	m := c.members[name]
	conn, err := c.dial(m.addr)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	listed := func() bool {
		reply, err := exchangeVia(c.dial, listAddr, "config get cluster\r\n")
		if err != nil {
			c.t.Fatalf("asking %s: %v", listAddr, err)
		}
		cfg, err := parseECReply(reply, false)
		if err != nil {
			c.t.Fatal(err)
		}
		return slices.Contains(cfg.nodes, fmt.Sprintf("%s|%s|%d", m.ip, m.ip, testPort))
	}
	requests, sent := 0, false
	deadline := time.Now().Add(10 * time.Second)
	for listed() {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s still listed 10s after SIGTERM", name)
		}
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(conn, "set drain%d 0 0 5\r\nvalue\r\n", requests)
		line, err := r.ReadString('\n')
		if err != nil || line != "STORED\r\n" {
			c.t.Fatalf("request %d to %s, listed, failed: %q %v", requests, name, line, err)
		}
		requests++
		if requests == 200 && !sent {
			m.Signal(syscall.SIGTERM)
			sent = true
		}
	}
	if !sent {
		c.t.Fatalf("%s was unlisted before SIGTERM", name)
	}
	delete(c.members, name)
	if err := m.Wait(c.t, 15*time.Second); err != nil {
		c.t.Errorf("%s exited with %v after SIGTERM", name, err)
	}
	c.t.Logf("%d requests to %s, none failed, while it was listed", requests, name)
}

// settled waits until every member agrees on a list whose version stays
// the same for a second, and returns it.
func (c *testCluster) settled(within time.Duration) view {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		v, _ := c.agree(time.Until(deadline), "the cluster settles", func(view) error { return nil })
		time.Sleep(time.Second)
		w, _ := c.agree(time.Until(deadline), "the cluster settles", func(view) error { return nil })
		if w.raw == v.raw {
			return w
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the list kept changing: %q, then %q", v.raw, w.raw)
		}
	}
}

// unchanged checks, for a while, that every member answers exactly what it
// answered before.
func (c *testCluster) unchanged(during time.Duration, before view) {
	c.t.Helper()
	for end := time.Now().Add(during); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for name, m := range c.members {
			v := c.view(m.addr)
			if v.raw != before.raw || v.std.payload != before.std.payload || len(v.errs) > 0 {
				c.t.Fatalf("%s now publishes %q (standard %q, %v); before %q (%q)", name, v.raw, v.std.payload, v.errs, before.raw, before.std.payload)
			}
		}
	}
}
