package client

import (
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// The cluster's chaos test: an endpoint and three node processes driven
// through the real client by a chaos load (values that carry their key, a
// sequence number and a checksum; one writer per key), through kills,
// restarts, a stop and resume, a scale-out, a graceful leave and the loss
// of the endpoint. Each event is counted over its transition and then a
// settled window: never a wrong value, no stale read once settled, and no
// error reaching the application where the client must hide the event.

const (
	chaosWorkers = 8
	chaosKeys    = 1600
	// settledFor is how long each event's settled window runs.
	settledFor = 2 * time.Second
	// chaosFailoverTTL caps the copies written to fail-over owners; events
	// of one node are further apart than this.
	chaosFailoverTTL = 2 * time.Second
)

// A chaosEvent is a fault the cluster goes through: do makes it happen
// and returns once the endpoint publishes the list the event leads to.
type chaosEvent struct {
	name string
	do   func(t *testing.T, cl *testproc.Cluster)
	// noErrors: the client must hide the event from the application
	// entirely (a crash or a planned change with other nodes alive).
	noErrors bool
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster through faults for about a minute")
	}
	cl := testproc.StartCluster(t, 3)
	c := newDiscovering(t, []string{cl.Endpoint.Addr}, func(cfg *Config) {
		cfg.Timeout, cfg.FailoverTTL = 300*time.Millisecond, chaosFailoverTTL
	})
	load := startChaos(t, c, chaosWorkers, chaosKeys)
	time.Sleep(settledFor) // fill the cache
	for _, ev := range chaosEvents() {
		before := load.tally()
		ev.do(t, cl)
		time.Sleep(4 * 50 * time.Millisecond) // a few client polls
		mid := load.tally()
		time.Sleep(settledFor)
		transition, settled := mid.sub(before), load.tally().sub(mid)
		t.Logf("%-24s transition: %v", ev.name, transition)
		t.Logf("%-24s settled:    %v", "", settled)
		if n := transition.wrong + settled.wrong; n != 0 {
			t.Errorf("%s: %d wrong values", ev.name, n)
		}
		if settled.stale != 0 {
			t.Errorf("%s: %d stale reads after the event settled", ev.name, settled.stale)
		}
		if n := transition.errs + settled.errs; ev.noErrors && n != 0 {
			t.Errorf("%s: %d errors reached the application", ev.name, n)
		}
		if settled.gets == 0 || settled.sets == 0 {
			t.Errorf("%s: the load stalled after the event", ev.name)
		}
		time.Sleep(chaosFailoverTTL - settledFor + 100*time.Millisecond)
	}
	t.Logf("whole run: %v; %s", load.tally(), load.errWindow())
}

func chaosEvents() []chaosEvent {
	active := func(t *testing.T, cl *testproc.Cluster, except ...*testproc.Member) {
		var nodes []*testproc.Member
	next:
		for _, n := range cl.Nodes {
			for _, e := range except {
				if n == e {
					continue next
				}
			}
			nodes = append(nodes, n)
		}
		cl.WaitActive(t, nodes...)
	}
	return []chaosEvent{
		{"kill node 1", func(t *testing.T, cl *testproc.Cluster) {
			cl.Nodes[1].Kill()
			active(t, cl, cl.Nodes[1])
		}, true},
		{"restart node 1", func(t *testing.T, cl *testproc.Cluster) {
			cl.Nodes[1].Restart()
			active(t, cl)
		}, true},
		{"kill node 1 again", func(t *testing.T, cl *testproc.Cluster) {
			cl.Nodes[1].Kill()
			active(t, cl, cl.Nodes[1])
			cl.Nodes[1].Restart()
			active(t, cl)
		}, true},
		{"SIGSTOP, SIGCONT node 2", func(t *testing.T, cl *testproc.Cluster) {
			cl.Nodes[2].Signal(syscall.SIGSTOP)
			active(t, cl, cl.Nodes[2])
			time.Sleep(time.Second) // writes go to its keys' fail-over owners
			cl.Nodes[2].Signal(syscall.SIGCONT)
			active(t, cl)
		}, false},
		{"add a node", func(t *testing.T, cl *testproc.Cluster) {
			cl.AddNode(t)
		}, true},
		{"graceful leave", func(t *testing.T, cl *testproc.Cluster) {
			leaving := cl.Nodes[len(cl.Nodes)-1]
			leaving.Signal(syscall.SIGTERM)
			if err := leaving.Wait(t, 15*time.Second); err != nil {
				t.Errorf("the leaving node exited with %v", err)
			}
			cl.Nodes = cl.Nodes[:len(cl.Nodes)-1]
			active(t, cl)
		}, true},
		{"endpoint lost", func(t *testing.T, cl *testproc.Cluster) {
			cl.Endpoint.Kill()
			time.Sleep(time.Second) // the client keeps the nodes it knows
			cl.Endpoint.Restart()
			active(t, cl)
		}, true},
	}
}
