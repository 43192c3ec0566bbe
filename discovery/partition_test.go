package discovery

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/protocol"
)

// TestPartitionNeverReusesAVersion runs an endpoint and nodes as real
// processes in a network namespace, cuts the cluster in two, lets each side
// publish changes of its own (a node dropped, a node joining), heals it,
// and checks every (version, list) pair any member answered during the
// test: no version may ever come with two different lists, and no member's
// version may go back.
func TestPartitionNeverReusesAVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and waits for failure detection")
	}
	ns := newNetns(t)
	c := newTestCluster(t, "127.0.0.1")
	c.dial, c.launch = ns.dial, ns.launch
	rec := newRecorder(c)
	defer func() {
		rec.stop()
		for _, p := range rec.problems() {
			t.Error(p)
		}
		t.Logf("%d distinct (version, list) pairs seen", rec.pairs())
	}()

	c.start("endpoint", "127.0.0.10", "endpoint")
	for _, n := range []string{"n1", "n2", "n3", "n4"} {
		c.start(n, c.prefix+n[1:], "node")
	}
	for name, m := range c.members {
		rec.watch(name, m.addr)
	}
	// Nodes joining at once take positions in any order: read them back.
	formed, _ := c.agree(30*time.Second, "the cluster forms", func(v view) error { return v.has(4) })
	pos := formed.positions(c.prefix)

	sideA := []string{"127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.15"}
	sideB := []string{"127.0.0.13", "127.0.0.14", "127.0.0.16"}
	ns.cut(sideA, sideB)
	a := c.side("endpoint", "n1", "n2")
	b := c.side("n3", "n4")
	a.agree(20*time.Second, "side A drops side B", func(v view) error { return v.exactly(c.prefix, pos, "n1", "n2") })
	b.agree(20*time.Second, "side B drops side A", func(v view) error { return v.exactly(c.prefix, pos, "n3", "n4") })

	// A node joins each side: each takes the lowest position free on its
	// side, so the two sides give out the same positions.
	free := func(taken ...string) int {
		for p := 0; ; p++ {
			used := false
			for _, n := range taken {
				used = used || pos[n] == p
			}
			if !used {
				return p
			}
		}
	}
	posA := map[string]int{"n1": pos["n1"], "n2": pos["n2"], "n5": free("n1", "n2")}
	posB := map[string]int{"n3": pos["n3"], "n4": pos["n4"], "n6": free("n3", "n4")}
	rec.watch("n5", a.start("n5", "127.0.0.15", "node").addr)
	rec.watch("n6", b.start("n6", "127.0.0.16", "node").addr)
	va, _ := a.agree(20*time.Second, "a node joins side A", func(v view) error { return v.exactly(c.prefix, posA, "n1", "n2", "n5") })
	vb, _ := b.agree(20*time.Second, "a node joins side B", func(v view) error { return v.exactly(c.prefix, posB, "n3", "n4", "n6") })
	t.Logf("side A publishes version %d: %q; side B version %d: %q", va.std.version, va.raw, vb.std.version, vb.raw)

	ns.heal(sideA, sideB)
	for name, m := range a.members {
		c.members[name] = m
	}
	for name, m := range b.members {
		c.members[name] = m
	}
	// The endpoint coordinates the healed cluster, so side A's positions
	// stand; side B's nodes come back wherever positions are free.
	healed, took := c.agree(60*time.Second, "the cluster heals", func(v view) error {
		return v.allActive(c.prefix, posA, "n1", "n2", "n3", "n4", "n5", "n6")
	})
	t.Logf("healed in %v: version %d: %q", took.Round(time.Second), healed.std.version, healed.raw)
	if healed.std.version <= max(va.std.version, vb.std.version) {
		t.Errorf("healed version %d not above both sides' (%d, %d)", healed.std.version, va.std.version, vb.std.version)
	}
	if va.std.version == vb.std.version {
		t.Errorf("both sides published version %d", va.std.version)
	}
}

// allActive checks that exactly the named nodes are listed, all active, at
// distinct positions, and the nodes in pos at those positions.
func (v view) allActive(prefix string, pos map[string]int, names ...string) error {
	if len(v.ext.Nodes) != len(names) || len(v.std.nodes) != len(names) {
		return fmt.Errorf("listed %q; want %d active nodes", v.raw, len(names))
	}
	got := v.positions(prefix)
	for _, n := range names {
		p, ok := got[n]
		if !ok {
			return fmt.Errorf("%s missing from %q", n, v.raw)
		}
		if want, fixed := pos[n]; fixed && p != want {
			return fmt.Errorf("%s at position %d, want %d, in %q", n, p, want, v.raw)
		}
	}
	return nil
}

func copyPos(pos map[string]int) map[string]int {
	out := make(map[string]int, len(pos))
	for k, v := range pos {
		out[k] = v
	}
	return out
}

// side is a view of some of the cluster's members, for checks on one side
// of a partition; members it starts join only that side.
func (c *testCluster) side(names ...string) *testCluster {
	s := *c
	s.members = map[string]*member{}
	for _, n := range names {
		s.members[n] = c.members[n]
	}
	return &s
}

// recorder polls every member it watches, every 50ms, for both discovery
// keys and keeps every (version, payload) pair it sees.
type recorder struct {
	c     *testCluster
	done  chan struct{}
	ended sync.WaitGroup

	mu    sync.Mutex
	addrs map[string]string
	seen  map[string]map[uint64]string // key -> version -> payload
	last  map[string]uint64            // member -> last shoal-cluster version
	probs []string
}

func newRecorder(c *testCluster) *recorder {
	r := &recorder{c: c, done: make(chan struct{}), addrs: map[string]string{},
		seen: map[string]map[uint64]string{"cluster": {}, "shoal-cluster": {}}, last: map[string]uint64{}}
	r.ended.Go(r.run)
	return r
}

func (r *recorder) watch(name, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs[name] = addr
}

func (r *recorder) stop() {
	select {
	case <-r.done:
	default:
		close(r.done)
	}
	r.ended.Wait()
}

func (r *recorder) run() {
	for {
		select {
		case <-r.done:
			return
		case <-time.After(50 * time.Millisecond):
		}
		r.mu.Lock()
		addrs := make(map[string]string, len(r.addrs))
		for k, v := range r.addrs {
			addrs[k] = v
		}
		r.mu.Unlock()
		for name, addr := range addrs {
			reply, err := exchangeVia(r.c.dial, addr, "config get cluster\r\nconfig get shoal-cluster\r\n")
			if err != nil {
				continue // not up yet, or cut off from the test
			}
			r.record(name, reply)
		}
	}
}

// record checks one member's two replies against everything seen so far.
func (r *recorder) record(name string, reply []byte) {
	rd := bufio.NewReader(bytes.NewReader(reply))
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, key := range []string{"cluster", "shoal-cluster"} {
		payload, err := readConfig(rd, key)
		if err != nil {
			r.probs = append(r.probs, fmt.Sprintf("%s: %v in %q", name, err, reply))
			return
		}
		if payload == "" {
			continue // no configuration
		}
		line, _, _ := bytes.Cut([]byte(payload), []byte("\n"))
		v, err := strconv.ParseUint(string(line), 10, 64)
		if err != nil {
			r.probs = append(r.probs, fmt.Sprintf("%s: version %q", name, line))
			return
		}
		if v == 0 {
			continue // no table yet
		}
		if prev, ok := r.seen[key][v]; ok && prev != payload {
			r.probs = append(r.probs, fmt.Sprintf("%s: version %d published as %q and as %q", key, v, prev, payload))
		}
		r.seen[key][v] = payload
		if key == "shoal-cluster" {
			if v < r.last[name] {
				r.probs = append(r.probs, fmt.Sprintf("%s went from version %d to %d", name, r.last[name], v))
			}
			r.last[name] = v
		}
	}
}

// readConfig reads one reply to `config get key`: "" for END alone.
func readConfig(rd *bufio.Reader, key string) (string, error) {
	payload, err := protocol.ReadConfigReply(rd, protocol.ConfigRequest{Cmd: "config get " + key, Reply: "CONFIG", Key: key})
	if errors.Is(err, protocol.ErrNoConfig) {
		return "", nil
	}
	return string(payload), err
}

func (r *recorder) problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.probs...)
}

func (r *recorder) pairs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen["shoal-cluster"])
}
