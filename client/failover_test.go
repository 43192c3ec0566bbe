package client

import (
	"context"
	"testing"
	"time"
)

// wantTTL checks a key's remaining time to live on a node: want seconds, or
// one less if the node's clock ticked since the write.
func wantTTL(t *testing.T, addr, key string, want int, what string) {
	t.Helper()
	// A second either way: a relative TTL may have ticked down once, and an
	// absolute one reads a second more while the server's clock, which
	// ticks once a second, lags the wall clock.
	if got := remainingTTL(t, addr, key); got < want-1 || got > want+1 {
		t.Errorf("%s: %s has TTL %d on %s, want %d", what, key, got, addr, want)
	}
}

// TestFailoverTTL: a write that lands on a key's fail-over owner gets at
// most FailoverTTL (0, "never", included); a write on the key's primary
// owner keeps the TTL asked for.
func TestFailoverTTL(t *testing.T) {
	servers := startShoalServers(t, 3)
	c := newStatic(t, servers, nil)
	ctx := context.Background()
	victim := servers[0]
	k := keyWhere(t, func(k string) bool { return ownerAddr(c, k) == victim.addr })
	p := keyWhere(t, func(k string) bool { return ownerAddr(c, k) == servers[1].addr })
	victim.kill()
	if err := c.Set(ctx, &Item{Key: k, Value: []byte("v")}); err != nil {
		t.Fatalf("set with its owner killed: %v", err)
	}
	f := ownerAddr(c, k)
	if f == victim.addr || f == "" {
		t.Fatalf("%s still routed to %q", k, f)
	}
	month := int32(30 * 24 * 3600)
	for _, tc := range []struct {
		exp  int32
		want int
		what string
	}{
		{0, 60, "no expiration"},
		{10, 10, "10 s"},
		{3600, 60, "an hour"},
		{int32(time.Now().Unix()) + 2*month, 60, "a Unix time 60 days on"},
		{int32(time.Now().Unix()) + 30, 30, "a Unix time 30 s on"},
	} {
		it := &Item{Key: k, Value: []byte("v"), Expiration: tc.exp}
		if err := c.Set(ctx, it); err != nil {
			t.Fatal(err)
		}
		if it.Expiration != tc.exp {
			t.Errorf("%s: the caller's item changed to %d", tc.what, it.Expiration)
		}
		wantTTL(t, f, k, tc.want, "fail-over set, "+tc.what)
	}
	if err := c.Touch(ctx, k, 3600); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, f, k, 60, "fail-over touch, an hour")
	if err := c.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetOrLoad(ctx, k, 0, func(context.Context, string) ([]byte, error) { return []byte("v"), nil }); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, f, k, 60, "fail-over GetOrLoad, no expiration")

	for _, tc := range []struct {
		exp  int32
		want int
	}{{0, -1}, {3600, 3600}} {
		if err := c.Set(ctx, &Item{Key: p, Value: []byte("v"), Expiration: tc.exp}); err != nil {
			t.Fatal(err)
		}
		wantTTL(t, servers[1].addr, p, tc.want, "set on the primary owner")
	}

	short := newStatic(t, servers, func(cfg *Config) { cfg.FailoverTTL = 5 * time.Second })
	if err := short.Set(ctx, &Item{Key: k, Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	wantTTL(t, ownerAddr(short, k), k, 5, "FailoverTTL 5s")
}

// TestWarmupCopyTTL: warm-up copies a key to its new owner for WarmupTTL,
// or for at most FailoverTTL when the new owner is only its fail-over owner.
func TestWarmupCopyTTL(t *testing.T) {
	servers := startShoalServers(t, 4)
	c := newStatic(t, servers[:3], nil)
	ctx := context.Background()
	addr := func(i int) string { return servers[i].addr }
	// With positions 0 to 3 and node 1 down, k's primary is node 1 and its
	// fail-over owner node 3; q's primary is node 3 and, before node 3
	// came, its owner was a live node.
	four := ringOf(addr(0), "", addr(2), addr(3))
	three := ringOf(addr(0), "", addr(2))
	k := keyWhere(t, func(k string) bool { return primaryPos(k, 4) == 1 && four.owner(k).String() == addr(3) })
	q := keyWhere(t, func(k string) bool { return primaryPos(k, 4) == 3 && primaryPos(k, 3) != 1 })
	servers[1].kill()
	for _, key := range []string{k, q} {
		if err := c.Set(ctx, &Item{Key: key, Value: []byte(key)}); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
		if got := ownerAddr(c, key); got != three.owner(key).String() {
			t.Fatalf("%s on %s, want %s", key, got, three.owner(key))
		}
	}
	if err := c.apply(listOf(1, servers), "test"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{k, q} {
		if it, err := c.Get(ctx, key); err != nil || string(it.Value) != key {
			t.Fatalf("get %s after the scale-out: %+v, %v", key, it, err)
		}
	}
	wantTTL(t, addr(3), k, 60, "warm-up copy to the fail-over owner")
	wantTTL(t, addr(3), q, 300, "warm-up copy to the primary owner")
}

// primaryPos is key's primary position among n.
func primaryPos(key string, n int) int {
	pos, _ := ringOf(make([]string, n)...).primaryOf(key, nil)
	return pos
}

// ringOf is a ring of nodes at positions 0, 1, ...; "" is a gap.
func ringOf(addrs ...string) *ring {
	var live []slot
	for i, a := range addrs {
		if a != "" {
			live = append(live, slot{i, &node{addr: serverAddr(a)}})
		}
	}
	r := newRing(0, live)
	r.full = len(addrs)
	return r
}
