package discovery

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/protocol"
)

// droppedLog is what a node logs when it learns it was out of the
// published list (and calls Config.OnDropped).
const droppedLog = "was out of the published list"

// TestStoppedNodeLearnsItWasDropped stops a node (SIGSTOP) until the others
// drop it from the list, wakes it, and checks that it is listed again at
// its position and has learnt, once, that it was out of the list, while
// the members that were never dropped have not.
func TestStoppedNodeLearnsItWasDropped(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and waits for failure detection")
	}
	c := newTestCluster(t, "127.0.8.1")
	c.start("endpoint", "127.0.8.1", "endpoint")
	c.start("n1", "127.0.8.11", "node")
	c.start("n2", "127.0.8.12", "node")
	v, _ := c.agree(20*time.Second, "the cluster forms", func(v view) error { return v.has(2) })
	pos := v.positions(c.prefix)
	c.noneDropped()

	n1 := c.members["n1"]
	n1.Signal(syscall.SIGSTOP)
	delete(c.members, "n1")
	c.agree(15*time.Second, "the stopped node is dropped", func(w view) error { return w.exactly(c.prefix, pos, "n2") })
	n1.Signal(syscall.SIGCONT)
	c.members["n1"] = n1
	c.agree(20*time.Second, "the node is listed again", func(w view) error { return w.exactly(c.prefix, pos, "n1", "n2") })
	waitFor(t, 5*time.Second, "the node learns it was dropped", func() error {
		if n := strings.Count(n1.Output(), droppedLog); n != 1 {
			return fmt.Errorf("%q logged %d times", droppedLog, n)
		}
		return nil
	})
	delete(c.members, "n1")
	c.noneDropped()
}

// noneDropped checks that no member up has logged that it was dropped.
func (c *testCluster) noneDropped() {
	c.t.Helper()
	for name, m := range c.members {
		if strings.Contains(m.Output(), droppedLog) {
			c.t.Errorf("%s logged %q: %s", name, droppedLog, m.Output())
		}
	}
}

func TestDropsReported(t *testing.T) {
	m := offline(t, "n1", RoleNode)
	calls := make(chan struct{}, 10)
	release := make(chan struct{})
	m.cfg.OnDropped = func() { calls <- struct{}{}; <-release }
	m.workers.Add(1)
	go m.reportDrops()
	defer func() { close(release); close(m.stop); m.workers.Wait() }()

	active := func(v, since uint64) table {
		return table{Version: v, Nodes: []entry{{Name: "n1", Host: "h", Port: 1, State: protocol.StateActive, Since: since}}}
	}
	steps := []struct {
		what    string
		t       table
		dropped bool
	}{
		{"first listed active", active(5, 5), false},
		{"still active", active(6, 5), false},
		{"active again since a table it never saw", active(8, 8), true},
		{"absent", table{Version: 9}, true},
		{"back, after it saw itself out", active(10, 10), false},
		{"leaving", table{Version: 11, Nodes: []entry{{Name: "n1", Host: "h", Port: 1, State: protocol.StateLeaving}}}, false},
	}
	for _, s := range steps {
		done := make(chan struct{})
		go func() { // adopting never waits for the callback, which is stuck
			m.tabMu.Lock()
			m.adoptLocked(s.t)
			m.tabMu.Unlock()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Second):
			t.Fatalf("%s: adopting a table waited for OnDropped", s.what)
		}
		select {
		case <-calls:
			if !s.dropped {
				t.Errorf("%s: OnDropped called", s.what)
			}
		case <-time.After(100 * time.Millisecond):
			if s.dropped {
				t.Errorf("%s: OnDropped not called", s.what)
			}
		}
		if s.dropped {
			release <- struct{}{}
		}
	}
}

// TestHeldBackNodeFlushesFirst: a node listed joining while it declares
// itself active (the coordinator holds a returning node back) flushes, and
// only then declares a later activation, which is what lets the
// coordinator list it active; a table still holding back an activation it
// has already passed does not flush it again.
func TestHeldBackNodeFlushesFirst(t *testing.T) {
	m := offline(t, "n1", RoleNode)
	m.meta.State, m.meta.Activations = protocol.StateActive, 3
	flushed := make(chan uint64, 10)
	m.cfg.OnDropped = func() {
		m.metaMu.Lock()
		flushed <- m.meta.Activations
		m.metaMu.Unlock()
	}
	m.workers.Add(1)
	go m.reportDrops()
	defer func() { close(m.stop); m.workers.Wait() }()

	held := func(v, activations uint64) table {
		return table{Version: v, Nodes: []entry{{Name: "n1", Host: "h", Port: 1, State: protocol.StateJoining, Activations: activations}}}
	}
	adopt := func(t table) {
		m.tabMu.Lock()
		m.adoptLocked(t)
		m.tabMu.Unlock()
	}
	adopt(held(5, 3))
	select {
	case at := <-flushed:
		if at != 3 {
			t.Errorf("flushed at activation %d; want 3, before declaring the next", at)
		}
	case <-time.After(time.Second):
		t.Fatal("a held-back node did not flush")
	}
	waitFor(t, time.Second, "the node declares its next activation", func() error {
		m.metaMu.Lock()
		defer m.metaMu.Unlock()
		if m.meta.Activations != 4 {
			return fmt.Errorf("activations %d; want 4", m.meta.Activations)
		}
		return nil
	})
	adopt(held(6, 3))
	select {
	case <-flushed:
		t.Error("flushed again for an activation it has passed")
	case <-time.After(100 * time.Millisecond):
	}
}
