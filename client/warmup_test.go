package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// scaleOutKeys is the number of keys cached before a scale-out.
const scaleOutKeys = 5000

// scaleOut caches scaleOutKeys keys on servers[:3], applies a list with all
// four servers, as discovery would, and returns the keys and which moved.
func scaleOut(t *testing.T, servers []*server, window time.Duration) (*Client, []string, map[string]bool) {
	t.Helper()
	for _, s := range servers {
		if err := s.direct().FlushAll(); err != nil {
			t.Fatal(err)
		}
	}
	c := newStatic(t, servers[:3], func(cfg *Config) { cfg.WarmupWindow = window })
	ctx := context.Background()
	keys := make([]string, scaleOutKeys)
	before := map[string]string{}
	for i := range keys {
		keys[i] = "warm:" + strconv.Itoa(i)
		before[keys[i]] = ownerAddr(c, keys[i])
		if err := c.Set(ctx, &Item{Key: keys[i], Value: []byte("value of " + keys[i])}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.apply(listOf(1, servers), "test"); err != nil {
		t.Fatal(err)
	}
	moved := map[string]bool{}
	for _, k := range keys {
		if now := ownerAddr(c, k); now != before[k] {
			if now != servers[3].addr {
				t.Fatalf("%q moved from %s to %s, not to the new node", k, before[k], now)
			}
			moved[k] = true
		}
	}
	return c, keys, moved
}

// TestWarmupHitRatio measures the hit ratio of a cache-aside workload
// during a scale-out from 3 to 4 memcached nodes, with and without warm-up.
//
//	go test -run TestWarmupHitRatio -v ./client
func TestWarmupHitRatio(t *testing.T) {
	servers := startMemcacheds(t, 4)
	ctx := context.Background()
	for _, mode := range []struct {
		name   string
		window time.Duration
	}{{"without warm-up", -1}, {"with warm-up", time.Minute}} {
		// Each key read once, in order.
		c, keys, moved := scaleOut(t, servers, mode.window)
		misses := 0
		for _, k := range keys {
			it, err := c.Get(ctx, k)
			switch {
			case errors.Is(err, ErrCacheMiss):
				misses++
			case err != nil:
				t.Fatal(err)
			case string(it.Value) != "value of "+k:
				t.Fatalf("%q = %q", k, it.Value)
			}
		}
		t.Logf("%s: every key once: hit ratio %.4f (%d misses; %d of %d keys moved)",
			mode.name, 1-float64(misses)/float64(len(keys)), misses, len(moved), len(keys))
		want := len(moved)
		if mode.window > 0 {
			want = 0
		}
		if misses != want {
			t.Errorf("%s: %d misses, want %d", mode.name, misses, want)
		}

		// A cache-aside workload: 4 reads per key, uniformly at random.
		c, keys, moved = scaleOut(t, servers, mode.window)
		var loads atomic.Int64
		load := func(_ context.Context, k string) ([]byte, error) {
			loads.Add(1)
			return []byte("value of " + k), nil
		}
		rng := rand.New(rand.NewPCG(5, 5))
		const reads = 4 * scaleOutKeys
		touched := map[string]bool{}
		for range reads {
			k := keys[rng.IntN(len(keys))]
			if moved[k] {
				touched[k] = true
			}
			if v, err := c.GetOrLoad(ctx, k, time.Hour, load); err != nil || string(v) != "value of "+k {
				t.Fatalf("GetOrLoad(%q) = %q, %v", k, v, err)
			}
		}
		t.Logf("%s: %d random reads: hit ratio %.4f (%d loads)",
			mode.name, reads, 1-float64(loads.Load())/reads, loads.Load())
		want = len(touched) // one load per moved key read, then hits
		if mode.window > 0 {
			want = 0
		}
		if int(loads.Load()) != want {
			t.Errorf("%s: %d loads, want %d", mode.name, loads.Load(), want)
		}
	}
}

// TestWarmupGetMulti: after a scale-out, GetMulti finds every key and
// copies the moved ones to the new node.
func TestWarmupGetMulti(t *testing.T) {
	servers := startMemcacheds(t, 4)
	c, keys, moved := scaleOut(t, servers, time.Minute)
	m, err := c.GetMulti(context.Background(), keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if it := m[k]; it == nil || string(it.Value) != "value of "+k {
			t.Fatalf("GetMulti[%q] = %+v", k, it)
		}
		if moved[k] && m[k].CasID != 0 {
			t.Fatalf("warmed %q has CAS ID %d from another server", k, m[k].CasID)
		}
	}
	onNew, err := servers[3].direct().GetMulti(keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(onNew) != len(moved) {
		t.Fatalf("the new node holds %d keys, want the %d that moved", len(onNew), len(moved))
	}
	for k := range onNew {
		if !moved[k] {
			t.Fatalf("the new node holds %q, which did not move", k)
		}
	}
}

// TestWarmupDelete: a key deleted during the window is not brought back
// from its previous owner.
func TestWarmupDelete(t *testing.T) {
	servers := startMemcacheds(t, 4)
	c, _, moved := scaleOut(t, servers, time.Minute)
	ctx := context.Background()
	var k string
	for k = range moved {
		break
	}
	if err := c.Delete(ctx, k); err != nil {
		t.Fatalf("delete of a moved key: %v, want nil (it existed on its previous owner)", err)
	}
	if _, err := c.Get(ctx, k); !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("get after delete: %v, want a miss", err)
	}
	for _, s := range servers {
		if _, err := s.direct().Get(k); !errors.Is(err, ErrCacheMiss) {
			t.Fatalf("%s still holds deleted %q: %v", s.addr, k, err)
		}
	}
}

// TestWarmupWindowEnds: after the window, a miss is a miss.
func TestWarmupWindowEnds(t *testing.T) {
	servers := startMemcacheds(t, 4)
	c, _, moved := scaleOut(t, servers, 100*time.Millisecond)
	time.Sleep(150 * time.Millisecond)
	for k := range moved {
		if _, err := c.Get(context.Background(), k); !errors.Is(err, ErrCacheMiss) {
			t.Fatalf("get of moved %q after the window: %v, want a miss", k, err)
		}
		break
	}
}

// TestApplyNeverLowersVersion: a list of a lower or equal version than the
// one held is ignored.
func TestApplyNeverLowersVersion(t *testing.T) {
	servers := startMemcacheds(t, 3)
	c := newStatic(t, servers[:1], nil)
	if err := c.apply(listOf(5, servers), "test"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint64{3, 5} {
		if err := c.apply(listOf(v, servers[:2]), "test"); err != nil {
			t.Fatal(err)
		}
		if r := c.cur.Load(); r.version != 5 || len(r.live) != 3 {
			t.Fatalf("after version %d: version %d with %d nodes, want version 5 with 3", v, r.version, len(r.live))
		}
	}
	if err := c.apply(listOf(6, servers[:2]), "test"); err != nil {
		t.Fatal(err)
	}
	if r := c.cur.Load(); r.version != 6 || len(r.live) != 2 {
		t.Fatalf("after version 6: version %d with %d nodes", r.version, len(r.live))
	}
}

// TestWarmupSurvivesNoOpList: a new list version that moves no key (a node
// joining, say) keeps the window of the change before it.
func TestWarmupSurvivesNoOpList(t *testing.T) {
	servers := startMemcacheds(t, 4)
	c, _, moved := scaleOut(t, servers, time.Minute)
	if err := c.apply(listOf(2, servers), "test"); err != nil {
		t.Fatal(err)
	}
	for k := range moved {
		if it, err := c.Get(context.Background(), k); err != nil || string(it.Value) != "value of "+k {
			t.Fatalf("get of moved %q after a list that changed nothing: %+v, %v", k, it, err)
		}
		break
	}
}
