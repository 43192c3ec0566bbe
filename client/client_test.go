package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/protocol"
)

func TestNewConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Servers: []string{"127.0.0.1:1"}, Endpoints: []string{"127.0.0.1:2"}},
	} {
		if c, err := New(context.Background(), cfg); err == nil {
			c.Close()
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

// TestSurface runs every call of the memcached surface against a real
// memcached and checks the exact values and errors.
func TestSurface(t *testing.T) {
	c := newStatic(t, startMemcacheds(t, 2), nil)
	ctx := context.Background()
	item := func(k, v string) *Item { return &Item{Key: k, Value: []byte(v)} }
	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"set", func() error { return c.Set(ctx, &Item{Key: "a", Value: []byte("1"), Flags: 42}) }, nil},
		{"add existing", func() error { return c.Add(ctx, item("a", "2")) }, ErrNotStored},
		{"add new", func() error { return c.Add(ctx, item("b", "x")) }, nil},
		{"replace missing", func() error { return c.Replace(ctx, item("nope", "x")) }, ErrNotStored},
		{"replace", func() error { return c.Replace(ctx, item("b", "y")) }, nil},
		{"append", func() error { return c.Append(ctx, item("b", ">")) }, nil},
		{"prepend", func() error { return c.Prepend(ctx, item("b", "<")) }, nil},
		{"append missing", func() error { return c.Append(ctx, item("nope", "x")) }, ErrNotStored},
		{"delete", func() error { return c.Delete(ctx, "b") }, nil},
		{"delete missing", func() error { return c.Delete(ctx, "b") }, ErrCacheMiss},
		{"touch", func() error { return c.Touch(ctx, "a", 100) }, nil},
		{"touch missing", func() error { return c.Touch(ctx, "nope", 100) }, ErrCacheMiss},
		{"malformed key", func() error { return c.Set(ctx, item("has space", "x")) }, ErrMalformedKey},
		{"long key", func() error { _, err := c.Get(ctx, string(bytes.Repeat([]byte("k"), 251))); return err }, ErrMalformedKey},
		{"get missing", func() error { _, err := c.Get(ctx, "nope"); return err }, ErrCacheMiss},
		{"incr missing", func() error { _, err := c.Increment(ctx, "n", 1); return err }, ErrCacheMiss},
	}
	for _, s := range steps {
		if err := s.do(); !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.want)
		}
	}

	it, err := c.Get(ctx, "a")
	if err != nil || string(it.Value) != "1" || it.Flags != 42 || it.CasID == 0 {
		t.Fatalf("get a: %+v, %v; want value 1, flags 42, a CAS ID", it, err)
	}
	it.Value = []byte("cas")
	if err := c.CompareAndSwap(ctx, it); err != nil {
		t.Fatalf("cas: %v", err)
	}
	if err := c.CompareAndSwap(ctx, it); !errors.Is(err, ErrCASConflict) {
		t.Fatalf("second cas with the same ID: %v, want ErrCASConflict", err)
	}
	if it, err := c.Get(ctx, "a"); err != nil || string(it.Value) != "cas" {
		t.Fatalf("after cas: %+v, %v", it, err)
	}

	if err := c.Set(ctx, item("n", "10")); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		op    func(context.Context, string, uint64) (uint64, error)
		delta uint64
		want  uint64
	}{{c.Increment, 5, 15}, {c.Decrement, 3, 12}, {c.Decrement, 100, 0}, {c.Increment, 1<<64 - 1, 1<<64 - 1}} {
		if v, err := s.op(ctx, "n", s.delta); err != nil || v != s.want {
			t.Fatalf("incr/decr by %d: %d, %v; want %d", s.delta, v, err, s.want)
		}
	}
	if _, err := c.Increment(ctx, "a", 1); err == nil {
		t.Fatal("incr of a non-number succeeded")
	}

	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := c.FlushAll(ctx); err != nil {
		t.Fatalf("flush_all: %v", err)
	}
	if _, err := c.Get(ctx, "a"); !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("get after flush_all: %v, want a miss", err)
	}
	c.Close()
	if err := c.Set(ctx, item("a", "1")); !errors.Is(err, ErrClosed) {
		t.Fatalf("set after Close: %v, want ErrClosed", err)
	}
}

// TestGetMultiAcrossNodes: keys land on their owners, every node gets some,
// and GetMulti gathers them from all nodes.
func TestGetMultiAcrossNodes(t *testing.T) {
	servers := startMemcacheds(t, 3)
	c := newStatic(t, servers, nil)
	ctx := context.Background()
	const n = 300
	var keys []string
	perNode := map[string]int{}
	for i := range n {
		k := "multi:" + strconv.Itoa(i)
		keys = append(keys, k)
		if err := c.Set(ctx, &Item{Key: k, Value: []byte("v" + strconv.Itoa(i)), Flags: uint32(i)}); err != nil {
			t.Fatal(err)
		}
		perNode[ownerAddr(c, k)]++
	}
	for _, s := range servers {
		if perNode[s.addr] < n/6 {
			t.Errorf("%s owns %d of %d keys", s.addr, perNode[s.addr], n)
		}
		// Each server holds exactly the keys it owns.
		got, err := s.direct().GetMulti(keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != perNode[s.addr] {
			t.Errorf("%s holds %d keys, owns %d", s.addr, len(got), perNode[s.addr])
		}
		for k := range got {
			if ownerAddr(c, k) != s.addr {
				t.Errorf("%s holds %q, owned by %s", s.addr, k, ownerAddr(c, k))
			}
		}
	}
	asked := append(keys, "multi:missing:1", "multi:missing:2")
	m, err := c.GetMulti(ctx, asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != n {
		t.Fatalf("GetMulti found %d items, want %d", len(m), n)
	}
	for i, k := range keys {
		it := m[k]
		if it == nil || string(it.Value) != "v"+strconv.Itoa(i) || it.Flags != uint32(i) || it.Key != k {
			t.Fatalf("GetMulti[%q] = %+v", k, it)
		}
	}
	if _, err := c.GetMulti(ctx, []string{"ok", "not ok"}); !errors.Is(err, ErrMalformedKey) {
		t.Fatalf("GetMulti with a bad key: %v, want ErrMalformedKey", err)
	}
	if m, err := c.GetMulti(ctx, nil); err != nil || len(m) != 0 {
		t.Fatalf("GetMulti of no keys: %v, %v", m, err)
	}
}

// TestContext: a canceled context fails a call before it is sent; a
// deadline ends a call to a hung node (a stopped process) early, the node is
// found down once the socket times out, its keys fail over, and it comes
// back when it answers again.
func TestContext(t *testing.T) {
	servers := startMemcacheds(t, 2)
	c := newStatic(t, servers, func(cfg *Config) { cfg.Timeout = time.Second })
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Set(canceled, &Item{Key: "k", Value: []byte("v")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("set with a canceled context: %v", err)
	}
	if _, err := c.Get(context.Background(), "k"); !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("a set with a canceled context was sent: get says %v", err)
	}
	if _, err := c.GetMulti(canceled, []string{"k"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetMulti with a canceled context: %v", err)
	}

	hung := servers[0]
	var hungKey, otherKey string
	for i := 0; hungKey == "" || otherKey == ""; i++ {
		k := "ctx:" + strconv.Itoa(i)
		if ownerAddr(c, k) == hung.addr {
			hungKey = k
		} else {
			otherKey = k
		}
	}
	hung.pause()
	defer hung.resume()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Get(ctx, hungKey)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get from a hung node: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("get with a 50ms deadline took %v, as if it waited for the 1s socket timeout", d)
	}
	// The abandoned request times out on its socket and reports the node.
	waitFor(t, 5*time.Second, "hung node found down", func() bool { return ownerAddr(c, hungKey) != hung.addr })
	if err := c.Set(context.Background(), &Item{Key: hungKey, Value: []byte("failed over")}); err != nil {
		t.Fatalf("set of a hung node's key after fail-over: %v", err)
	}
	if it, err := servers[1].direct().Get(hungKey); err != nil || string(it.Value) != "failed over" {
		t.Fatalf("fail-over owner holds %+v, %v", it, err)
	}
	if err := c.Set(context.Background(), &Item{Key: otherKey, Value: []byte("x")}); err != nil {
		t.Fatalf("set of another node's key: %v", err)
	}
	hung.resume()
	waitFor(t, 3*time.Second, "node back after it answers", func() bool { return ownerAddr(c, hungKey) == hung.addr })
}

// TestNodeKilledUnderLoad kills one of three nodes while clients read and
// write: calls for the other nodes' keys never fail, the killed node's keys
// fail over to the owner every client computes, only those keys move, and
// the node comes back when it is restarted.
func TestNodeKilledUnderLoad(t *testing.T) {
	servers := startMemcacheds(t, 3)
	c := newStatic(t, servers, nil)
	other := newStatic(t, servers, nil) // a second client instance
	ctx := context.Background()
	const nkeys = 600
	keys := make([]string, nkeys)
	before := map[string]string{}
	for i := range keys {
		keys[i] = "load:" + strconv.Itoa(i)
		before[keys[i]] = ownerAddr(c, keys[i])
		if err := c.Set(ctx, &Item{Key: keys[i], Value: []byte(keys[i])}); err != nil {
			t.Fatal(err)
		}
	}
	victim := servers[1]

	var (
		stop                   atomic.Bool
		opsOther, opsVictim    atomic.Int64
		failsOther, failsAfter atomic.Int64
		failsVictim            atomic.Int64
		killed                 atomic.Bool
		firstErr               sync.Once
		wg                     sync.WaitGroup
	)
	deadline := time.Now().Add(10 * time.Second)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < 200000 && !stop.Load() && time.Now().Before(deadline); i += 8 {
				k := keys[i%nkeys]
				var err error
				if i%4 == 0 {
					err = c.Set(ctx, &Item{Key: k, Value: []byte(k)})
				} else if _, err = c.Get(ctx, k); errors.Is(err, ErrCacheMiss) {
					err = nil // the fail-over owner starts empty
				}
				if before[k] == victim.addr {
					opsVictim.Add(1)
					if err != nil {
						failsVictim.Add(1)
					}
					if err != nil && killed.Load() && ownerAddr(c, k) != victim.addr {
						failsAfter.Add(1)
					}
					continue
				}
				opsOther.Add(1)
				if err != nil {
					failsOther.Add(1)
					firstErr.Do(func() { t.Errorf("call for %q (node %s) failed: %v", k, before[k], err) })
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	victim.kill()
	killed.Store(true)
	waitFor(t, 2*time.Second, "killed node routed around", func() bool {
		return ownerAddr(c, keys[indexOwnedBy(before, keys, victim.addr)]) != victim.addr
	})
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d calls for other nodes' keys (%d failed), %d for the killed node's (%d failed)",
		opsOther.Load(), failsOther.Load(), opsVictim.Load(), failsVictim.Load())
	if failsAfter.Load() != 0 {
		t.Errorf("%d calls for the killed node's keys failed after it was routed around", failsAfter.Load())
	}
	if opsOther.Load() == 0 || opsVictim.Load() == 0 {
		t.Fatal("the load did not reach both kinds of keys")
	}

	// Only the killed node's keys moved, and both clients agree where.
	// The second client finds the node down on its first call to it.
	if _, err := other.Get(ctx, keys[indexOwnedBy(before, keys, victim.addr)]); err != nil && !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("second client: get of the killed node's key: %v", err)
	}
	moved := 0
	for _, k := range keys {
		now := ownerAddr(c, k)
		if before[k] != victim.addr {
			if now != before[k] {
				t.Fatalf("%q moved from %s to %s, though its node lives", k, before[k], now)
			}
			continue
		}
		moved++
		if now == victim.addr || now != ownerAddr(other, k) {
			t.Fatalf("%q: fail-over owner %s here, %s in the other client", k, now, ownerAddr(other, k))
		}
		if err := c.Set(ctx, &Item{Key: k, Value: []byte("after")}); err != nil {
			t.Fatalf("set %q after fail-over: %v", k, err)
		}
		if it, err := servers[index(servers, now)].direct().Get(k); err != nil || string(it.Value) != "after" {
			t.Fatalf("%q not on its fail-over owner %s: %+v, %v", k, now, it, err)
		}
	}
	t.Logf("%d of %d keys failed over", moved, nkeys)

	victim.restart()
	waitFor(t, 3*time.Second, "restarted node back in the ring", func() bool {
		return ownerAddr(c, keys[indexOwnedBy(before, keys, victim.addr)]) == victim.addr
	})
}

func indexOwnedBy(owners map[string]string, keys []string, addr string) int {
	for i, k := range keys {
		if owners[k] == addr {
			return i
		}
	}
	panic("no key owned by " + addr)
}

func index(servers []*server, addr string) int {
	for i, s := range servers {
		if s.addr == addr {
			return i
		}
	}
	panic("no server " + addr)
}

// TestNodeRestarted: a node restarted behind the client's back leaves its
// pooled connections broken; reads go on without an error, on new ones.
func TestNodeRestarted(t *testing.T) {
	servers := startMemcacheds(t, 1)
	c := newStatic(t, servers, func(cfg *Config) { cfg.MaxIdleConns = 8 })
	ctx := context.Background()
	// Fill the pool with several connections.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Set(ctx, &Item{Key: fmt.Sprint("r", i), Value: []byte("v")})
		}()
	}
	wg.Wait()
	servers[0].restart()
	for i := range 8 {
		if _, err := c.Get(ctx, fmt.Sprint("r", i)); !errors.Is(err, ErrCacheMiss) {
			t.Fatalf("get %d after the restart: %v, want a miss (the node restarted empty)", i, err)
		}
	}
}

// TestNewEndpointWithoutConfig: an endpoint that publishes no node list
// (plain memcached answers ERROR, ERROR, END to the three requests) or does
// not answer at all fails New.
func TestNewEndpointWithoutConfig(t *testing.T) {
	mc := startMemcached(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, ep := range []string{mc.addr, testproc.FreeAddr(t)} {
		c, err := New(ctx, Config{Endpoints: []string{ep}})
		if err == nil {
			c.Close()
			t.Fatalf("New with endpoint %s succeeded", ep)
		}
		t.Logf("%s: %v", ep, err)
	}
	_, err := (&Client{cfg: Config{Timeout: time.Second}}).fetch(ctx, mc.addr)
	if !errors.Is(err, protocol.ErrNoConfig) {
		t.Fatalf("fetch from memcached: %v, want ErrNoConfig", err)
	}
}
