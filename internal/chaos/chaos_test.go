package chaos

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/client"
	"github.com/shoal-cache/shoal/internal/testproc"
)

func TestMain(m *testing.M) { testproc.Main(m) }

const (
	workers       = 8
	keysPerWorker = 200
	// settledFor is how long each event's settled window runs.
	settledFor = 2 * time.Second
	// failoverTTL caps the copies written to fail-over owners; events of
	// one node are further apart than this.
	failoverTTL = 2 * time.Second
)

// An event is a fault the cluster goes through: do makes it happen and
// returns once the cluster has settled (the endpoint publishes the list
// the event leads to).
type event struct {
	name string
	do   func(t *testing.T, cl *testproc.Cluster)
	// noErrors: the client must hide the event from the application
	// entirely (a crash or a planned change with other nodes alive).
	noErrors bool
}

// TestChaos drives an endpoint and three nodes through kills, restarts, a
// stop and resume, a scale-out, a graceful leave and the loss of the
// endpoint, through the real client. After each event it counts the
// transition and then a settled window: never a wrong value, and no stale
// read once settled.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster through faults for about a minute")
	}
	cl := testproc.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	c, err := client.New(ctx, client.Config{
		Endpoints:     []string{cl.Endpoint.Addr},
		PollInterval:  50 * time.Millisecond,
		ProbeInterval: 50 * time.Millisecond,
		Timeout:       300 * time.Millisecond,
		FailoverTTL:   failoverTTL,
	})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	w := &workload{c: c}
	w.window()
	run, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for id := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(run, id, keysPerWorker) }()
	}
	defer func() { stop(); wg.Wait() }()
	time.Sleep(settledFor) // fill the cache

	for _, ev := range chaosEvents() {
		w.window()
		ev.do(t, cl)
		time.Sleep(4 * 50 * time.Millisecond) // a few client polls
		transition := w.window()
		time.Sleep(settledFor)
		settled := w.window()
		t.Logf("%-22s transition: %v", ev.name, transition)
		t.Logf("%-22s settled:    %v", "", settled)
		if n := transition.wrong.Load() + settled.wrong.Load(); n != 0 {
			t.Errorf("%s: %d wrong values", ev.name, n)
		}
		if n := settled.stale.Load(); n != 0 {
			t.Errorf("%s: %d stale reads after the event settled", ev.name, n)
		}
		if errs := transition.setErrors.Load() + transition.getErrors.Load() + settled.setErrors.Load() + settled.getErrors.Load(); ev.noErrors && errs != 0 {
			t.Errorf("%s: %d errors reached the application", ev.name, errs)
		}
		if settled.gets.Load() == 0 || settled.sets.Load() == 0 {
			t.Errorf("%s: the workload stalled after the event", ev.name)
		}
		time.Sleep(failoverTTL - settledFor + 100*time.Millisecond)
	}
}

func chaosEvents() []event {
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
	return []event{
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
