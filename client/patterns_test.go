package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGetOrLoadOnce: concurrent calls for a key that is not cached call the
// loader once and all get its value, which is then cached on the key's owner.
func TestGetOrLoadOnce(t *testing.T) {
	servers := startMemcacheds(t, 3)
	c := newStatic(t, servers, nil)
	var loads atomic.Int32
	release := make(chan struct{})
	load := func(ctx context.Context, key string) ([]byte, error) {
		loads.Add(1)
		<-release
		return []byte("loaded " + key), nil
	}
	const callers = 50
	var wg sync.WaitGroup
	var started sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			v, err := c.GetOrLoad(context.Background(), "stampede", time.Minute, load)
			if err == nil && string(v) != "loaded stampede" {
				err = fmt.Errorf("value %q", v)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // let the callers reach the flight
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("loader called %d times by %d concurrent callers, want 1", n, callers)
	}
	owner := servers[index(servers, ownerAddr(c, "stampede"))]
	if it, err := owner.direct().Get("stampede"); err != nil || string(it.Value) != "loaded stampede" {
		t.Fatalf("owner holds %+v, %v", it, err)
	}
	// Later calls are hits.
	for range 5 {
		if v, err := c.GetOrLoad(context.Background(), "stampede", time.Minute, load); err != nil || string(v) != "loaded stampede" {
			t.Fatalf("hit: %q, %v", v, err)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("loader called %d times after hits, want 1", n)
	}
}

// TestGetOrLoadCallerLeaves: a caller whose context ends stops waiting; the
// load goes on for the others and is cached.
func TestGetOrLoadCallerLeaves(t *testing.T) {
	c := newStatic(t, startMemcacheds(t, 1), nil)
	release := make(chan struct{})
	load := func(ctx context.Context, key string) ([]byte, error) {
		<-release
		return []byte("v"), ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(ctx, "leave", 0, load)
		first <- err
	}()
	time.Sleep(20 * time.Millisecond)
	second := make(chan []byte, 1)
	go func() {
		v, _ := c.GetOrLoad(context.Background(), "leave", 0, load)
		second <- v
	}()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled caller: %v", err)
	}
	close(release)
	if v := <-second; string(v) != "v" {
		t.Fatalf("second caller got %q", v)
	}
	if it, err := c.Get(context.Background(), "leave"); err != nil || string(it.Value) != "v" {
		t.Fatalf("cached: %+v, %v", it, err)
	}
}

func TestGetOrLoadErrors(t *testing.T) {
	servers := startMemcacheds(t, 1)
	ctx := context.Background()
	var loads atomic.Int32
	notFound := func(context.Context, string) ([]byte, error) { loads.Add(1); return nil, ErrNotFound }
	broken := errors.New("store down")
	failing := func(context.Context, string) ([]byte, error) { loads.Add(1); return nil, broken }

	t.Run("negative caching", func(t *testing.T) {
		c := newStatic(t, servers, func(cfg *Config) { cfg.NegativeTTL = time.Minute })
		loads.Store(0)
		for range 3 {
			if _, err := c.GetOrLoad(ctx, "absent", time.Minute, notFound); !errors.Is(err, ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		}
		if n := loads.Load(); n != 1 {
			t.Fatalf("loader called %d times, want 1", n)
		}
		it, err := servers[0].direct().Get("absent")
		if err != nil || it.Flags != negativeFlags || len(it.Value) != 0 {
			t.Fatalf("cached marker: %+v, %v", it, err)
		}
	})
	t.Run("no negative caching", func(t *testing.T) {
		c := newStatic(t, servers, nil)
		loads.Store(0)
		for range 3 {
			if _, err := c.GetOrLoad(ctx, "absent2", time.Minute, notFound); !errors.Is(err, ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		}
		if n := loads.Load(); n != 3 {
			t.Fatalf("loader called %d times, want 3", n)
		}
	})
	t.Run("loader error", func(t *testing.T) {
		c := newStatic(t, servers, func(cfg *Config) { cfg.NegativeTTL = time.Minute })
		loads.Store(0)
		for range 2 {
			if _, err := c.GetOrLoad(ctx, "broken", time.Minute, failing); !errors.Is(err, broken) {
				t.Fatalf("got %v, want the loader's error", err)
			}
		}
		if n := loads.Load(); n != 2 {
			t.Fatalf("loader called %d times, want 2: errors are not cached", n)
		}
		if _, err := servers[0].direct().Get("broken"); !errors.Is(err, ErrCacheMiss) {
			t.Fatalf("a loader error was cached: %v", err)
		}
	})
	t.Run("cache down", func(t *testing.T) {
		dead := startMemcached(t)
		c := newStatic(t, []*server{dead}, nil)
		dead.kill()
		v, err := c.GetOrLoad(ctx, "k", time.Minute, func(context.Context, string) ([]byte, error) { return []byte("from store"), nil })
		if err != nil || string(v) != "from store" {
			t.Fatalf("with the cache down: %q, %v; want the loaded value", v, err)
		}
	})
}

// TestGetOrLoadJitter checks the expirations GetOrLoad gives memcached,
// read back with the meta command mg.
func TestGetOrLoadJitter(t *testing.T) {
	servers := startMemcacheds(t, 1)
	c := newStatic(t, servers, func(cfg *Config) { cfg.TTLJitter = 0.5 })
	ctx := context.Background()
	seen := map[int]bool{}
	for i := range 40 {
		k := "jitter:" + strconv.Itoa(i)
		if _, err := c.GetOrLoad(ctx, k, 100*time.Second, func(context.Context, string) ([]byte, error) { return []byte("v"), nil }); err != nil {
			t.Fatal(err)
		}
		ttl := remainingTTL(t, servers[0].addr, k)
		if ttl < 48 || ttl > 100 { // 100s less up to half, less a second or two of clock
			t.Fatalf("%s: remaining TTL %ds, want 50..100", k, ttl)
		}
		seen[ttl] = true
	}
	if len(seen) < 5 {
		t.Fatalf("40 keys got only %d distinct TTLs: no jitter", len(seen))
	}
	noJitter := newStatic(t, servers, func(cfg *Config) { cfg.TTLJitter = -1 })
	noJitter.GetOrLoad(ctx, "exact", 100*time.Second, func(context.Context, string) ([]byte, error) { return []byte("v"), nil })
	if ttl := remainingTTL(t, servers[0].addr, "exact"); ttl < 99 || ttl > 100 {
		t.Fatalf("without jitter: TTL %d, want 100", ttl)
	}
}

// remainingTTL asks memcached for a key's remaining time to live in seconds.
func remainingTTL(t *testing.T, addr, key string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(conn, "mg %s t\r\n", key)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(line) // HD t97
	if len(f) != 2 || f[0] != "HD" || !strings.HasPrefix(f[1], "t") {
		t.Fatalf("mg %s: %q", key, line)
	}
	ttl, _ := strconv.Atoi(f[1][1:])
	return ttl
}

func TestJitteredBounds(t *testing.T) {
	c := &Client{cfg: Config{TTLJitter: 0.1}}
	for _, tc := range []struct {
		ttl      time.Duration
		min, max int32
	}{
		{0, 0, 0},
		{time.Millisecond, 1, 1},
		{time.Second, 1, 1},
		{100 * time.Second, 90, 100},
		{time.Hour, 3240, 3600},
	} {
		for range 200 {
			if got := c.jittered(tc.ttl); got < tc.min || got > tc.max {
				t.Fatalf("jittered(%v) = %d, want %d..%d", tc.ttl, got, tc.min, tc.max)
			}
		}
	}
	// Beyond 30 days memcached takes a Unix time.
	if got, now := c.jittered(40*24*time.Hour), time.Now().Unix(); int64(got) < now+36*24*3600 || int64(got) > now+40*24*3600+1 {
		t.Fatalf("jittered(40 days) = %d, want a Unix time 36..40 days from %d", got, now)
	}
}

// TestSetThrough: the store first, then the cache; a store that refuses
// leaves the cache alone; a cache that refuses loses its older value.
func TestSetThrough(t *testing.T) {
	servers := startMemcacheds(t, 1)
	c := newStatic(t, servers, nil)
	ctx := context.Background()
	db := map[string]string{}
	store := func(_ context.Context, it *Item) error {
		if bytes.HasPrefix(it.Value, []byte("bad")) {
			return errors.New("constraint violated")
		}
		db[it.Key] = string(it.Value)
		return nil
	}
	if err := c.SetThrough(ctx, &Item{Key: "row", Value: []byte("v1")}, store); err != nil {
		t.Fatal(err)
	}
	if it, err := c.Get(ctx, "row"); err != nil || string(it.Value) != "v1" || db["row"] != "v1" {
		t.Fatalf("after SetThrough: cache %+v, %v; store %q", it, err, db["row"])
	}
	if err := c.SetThrough(ctx, &Item{Key: "row", Value: []byte("bad")}, store); err == nil || err.Error() != "constraint violated" {
		t.Fatalf("refused by the store: %v", err)
	}
	if it, err := c.Get(ctx, "row"); err != nil || string(it.Value) != "v1" {
		t.Fatalf("the cache changed after the store refused: %+v, %v", it, err)
	}
	// A value larger than memcached's 1 MB item limit: the store takes it,
	// the cache refuses it and must not keep serving v1.
	big := bytes.Repeat([]byte("x"), 2<<20)
	if err := c.SetThrough(ctx, &Item{Key: "row", Value: big}, store); err != nil {
		t.Fatalf("cache refused, key deleted: %v, want nil", err)
	}
	if db["row"] != string(big) {
		t.Fatal("store does not hold the big value")
	}
	if _, err := c.Get(ctx, "row"); !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("after a refused cache write: %v, want a miss", err)
	}
}
