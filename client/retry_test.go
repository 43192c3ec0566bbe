package client

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// startShoalServers starts n shoal nodes without gossip: plain memcached
// servers for a static list.
func startShoalServers(t testing.TB, n int) []*server {
	t.Helper()
	s := make([]*server, n)
	for i := range s {
		p := testproc.StartShoal(t, "node", "-m", "16")
		s[i] = &server{addr: p.Addr, proc: p}
	}
	return s
}

// keyWhere is the first key "k:0", "k:1", ... for which ok holds.
func keyWhere(t *testing.T, ok func(string) bool) string {
	t.Helper()
	for i := range 100000 {
		if k := "k:" + strconv.Itoa(i); ok(k) {
			return k
		}
	}
	t.Fatal("no key found")
	return ""
}

// TestRetryGoesAroundFailedNode: a call that finds its key's owner failing
// retries on the fail-over owner even while the ring still routes to the
// failed node: here another call has just marked it down and not rebuilt
// the ring yet, the moment in which three tries on a killed node used to
// surface its "connection refused".
func TestRetryGoesAroundFailedNode(t *testing.T) {
	servers := startShoalServers(t, 3)
	c := newStatic(t, servers, nil)
	ctx := context.Background()
	victim := servers[0]
	k := keyWhere(t, func(k string) bool { return ownerAddr(c, k) == victim.addr })
	victim.kill()
	c.cur.Load().owner(k).down.Store(true) // as markDown does before it rebuilds
	if err := c.Set(ctx, &Item{Key: k, Value: []byte("v")}); err != nil {
		t.Fatalf("set: %v", err)
	}
	if it, err := c.Get(ctx, k); err != nil || string(it.Value) != "v" {
		t.Fatalf("get: %+v, %v", it, err)
	}
	if m, err := c.GetMulti(ctx, []string{k}); err != nil || len(m) != 1 {
		t.Fatalf("get multi: %v, %v", m, err)
	}
	if ownerAddr(c, k) != victim.addr {
		t.Fatalf("the ring was rebuilt: %s owned by %s", k, ownerAddr(c, k))
	}
}

// TestKillSurfacesNoError SIGKILLs a node of a 3-node cluster 20 times under
// a load of 8 goroutines: with two nodes alive, no call may fail, however
// many pooled connections to the killed node the calls meet.
//
//	go test -run TestKillSurfacesNoError -v ./client
func TestKillSurfacesNoError(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts nodes for 20 s")
	}
	const kills = 20
	cl := startCluster(t, 3)
	c := newDiscovering(t, []string{cl.endpoint.addr}, nil)
	load := startChaos(t, c, 8, 400)
	deadline := time.Now().Add(45 * time.Second)
	done := 0
	for i := 0; i < kills && time.Now().Before(deadline); i++ {
		time.Sleep(200 * time.Millisecond) // calls pool connections to every node
		cl.nodes[i%3].proc.Restart()       // SIGKILL, then the same node again, empty
		cl.waitActive(t, cl.nodes...)
		waitLive(t, c, cl.nodes...)
		done++
	}
	load.stopChaos()
	got := load.tally()
	t.Logf("%d SIGKILLs: %d errors surfaced to the application (%v); %s", done, got.errs, got, load.errWindow())
	if done < kills {
		t.Errorf("only %d of %d kills within the time bound", done, kills)
	}
	if got.errs != 0 || got.wrong != 0 {
		t.Errorf("%d errors, %d wrong values", got.errs, got.wrong)
	}
}
