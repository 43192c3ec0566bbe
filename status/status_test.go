package status_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/connect"
	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/status"
)

func TestMain(m *testing.M) { testproc.Main(m) }

func TestTable(t *testing.T) {
	s := status.Snapshot{Version: 7, Taken: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), Nodes: []status.Row{
		{Position: 0, State: "active", Addr: "127.0.0.1:1", Items: 3, Bytes: 3 << 20, LimitBytes: 64 << 20,
			HitRatio: 0.5, OpsPerSec: 1234.4, Connections: 2, Evictions: 9, P99us: 40.8},
		{Position: 1, State: "active", Addr: "127.0.0.1:2", LimitBytes: 64 << 20, P99us: 2500},
		{Position: 2, State: "joining", Addr: "127.0.0.1:3", P99us: -1, Err: "connection refused"},
	}}
	var b strings.Builder
	if err := s.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := "cluster version 7, 3 nodes, 2026-12-02 09:00:00Z\n" +
		"  POS    STATE      ADDRESS  ITEMS        MEMORY  HIT%  OPS/S  CONNS  EVICTIONS     P99\n" +
		"    0   active  127.0.0.1:1      3  3.0M / 64.0M  50.0   1234      2          9  40.8µs\n" +
		"    1   active  127.0.0.1:2      0  0.0M / 64.0M   0.0      0      0          0  2.50ms\n" +
		"    2  joining  127.0.0.1:3      -             -     -      -      -          -       -  connection refused\n"
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

// send writes req to addr and reads n reply lines.
func send(t *testing.T, addr, req string, n int) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range n {
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
}

// Gather reads a real cluster: the endpoint's list, each node's counters as
// the test made them, and a request rate between two snapshots.
func TestGatherRealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	cl := testproc.StartCluster(t, 3)
	ctx := context.Background()
	first, err := status.Gather(ctx, cl.Endpoint.Addr, connect.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	node0 := first.Nodes[0].Addr
	var req strings.Builder
	for i := range 10 {
		req.WriteString("set k" + strconv.Itoa(i) + " 0 0 1\r\nx\r\n")
	}
	for i := range 30 {
		req.WriteString("get k" + strconv.Itoa(i%20) + "\r\n")
	}
	// 10 STORED, 20 hits (VALUE, data, END) and 10 misses (END).
	send(t, node0, req.String(), 10+20*3+10)
	second, err := status.Gather(ctx, cl.Endpoint.Addr, connect.Options{}, &first)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Nodes) != 3 || second.Version == 0 {
		t.Fatalf("snapshot %+v, want 3 nodes and a version", second)
	}
	started := map[string]bool{}
	for _, a := range testproc.Addrs(cl.Nodes...) {
		started[a] = true
	}
	for i, r := range second.Nodes {
		if r.Position != i || r.State != "active" || !started[r.Addr] || r.Err != "" {
			t.Errorf("row %d: %+v, want position %d active at one of %v", i, r, i, started)
		}
		delete(started, r.Addr)
		if r.LimitBytes != 64<<20 || r.Connections < 1 {
			t.Errorf("row %d: limit %d connections %d", i, r.LimitBytes, r.Connections)
		}
	}
	r := second.Nodes[0]
	if r.Items != 10 || r.HitRatio != 2.0/3 || r.OpsPerSec <= 0 || r.P99us <= 0 {
		t.Errorf("node 0: %+v, want 10 items, hit ratio 0.5, a rate and a p99", r)
	}
	if o := second.Nodes[1]; o.Items != 0 || o.OpsPerSec != 0 {
		t.Errorf("node 1 saw no requests: %+v", o)
	}

	// A node that dies is reported by its error until the list drops it.
	for _, n := range cl.Nodes {
		if n.Addr == second.Nodes[2].Addr {
			n.Kill()
		}
	}
	third, err := status.Gather(ctx, cl.Endpoint.Addr, connect.Options{}, &second)
	if err != nil {
		t.Fatal(err)
	}
	if len(third.Nodes) == 3 && third.Nodes[2].Err == "" {
		t.Errorf("a killed node still listed is read without error: %+v", third.Nodes[2])
	}
}
