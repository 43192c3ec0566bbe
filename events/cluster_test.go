package events

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

func TestMain(m *testing.M) { testproc.Main(m) }

// receiver is a webhook that keeps what it is sent.
type receiver struct {
	mu     sync.Mutex
	events []Event
	bad    []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	var e Event
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := json.Unmarshal(body, &e); err != nil {
		rc.bad = append(rc.bad, string(body))
		return
	}
	rc.events = append(rc.events, e)
}

// waitFor waits up to 20 seconds for an event of kind about the node at
// addr, and returns it.
func (rc *receiver) waitFor(t *testing.T, kind Kind, addr string) Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		for _, e := range rc.events {
			if e.Kind == kind && (addr == "" || e.Addr == addr) {
				rc.mu.Unlock()
				return e
			}
		}
		rc.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	t.Fatalf("no %s event for %q within 20s; got %+v", kind, addr, rc.events)
	return Event{}
}

// The endpoint of a real cluster tells its webhook of nodes joining,
// becoming active and failing.
func TestClusterEventsReachTheWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	ep := testproc.StartMember(t, "endpoint", "", "--event-webhook", hook.URL)
	var nodes []*testproc.Member
	for range 3 {
		nodes = append(nodes, testproc.StartMember(t, "node", ep.Gossip))
	}
	for _, n := range nodes {
		rc.waitFor(t, Joined, n.Addr)
		rc.waitFor(t, Position, n.Addr)
		a := rc.waitFor(t, Active, n.Addr)
		if a.SeenBy == "" || a.Version == 0 || a.Time.IsZero() {
			t.Errorf("active event %+v lacks who saw it, the version or the time", a)
		}
	}
	rc.waitFor(t, Version, "")

	nodes[1].Kill()
	rc.waitFor(t, Failed, nodes[1].Addr)

	// Not asserted yet: a node stopped with SIGTERM is reported leaving by
	// the endpoint, but its departure then shows in Member.View as failed,
	// not left (see the report of the dash branch).

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Errorf("undecodable documents: %q", rc.bad)
	}
	for _, e := range rc.events {
		if e.Kind == Failed && e.Addr != nodes[1].Addr {
			t.Errorf("a node that did not fail reported failed: %+v", e)
		}
	}
	t.Logf("%d events: %s", len(rc.events), kinds(rc.events))
}

func kinds(es []Event) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s %s; ", e.Kind, e.Addr)
	}
	return b.String()
}
