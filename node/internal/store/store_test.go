package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// defaultConfig is memcached's defaults, as a node's, with mb megabytes.
func defaultConfig(mb int) Config {
	return Config{MemoryLimit: int64(mb) << 20, MaxItemSize: 1 << 20, GrowthFactor: 1.25,
		MinChunk: 48, Automove: AutomoveWindowed}
}

func newTestStore(t testing.TB, mb int, mutate ...func(*Config)) *Store {
	t.Helper()
	cfg := defaultConfig(mb)
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// put stores key=value in mode and returns the result.
func put(t testing.TB, s *Store, mode Mode, key, value string, cas uint64) Result {
	t.Helper()
	res, err := s.Reserve([]byte(key), 7, 0, len(value), mode)
	if err != nil {
		t.Fatalf("reserve %q: %v", key, err)
	}
	copy(s.Value(res), value)
	r, _, err := s.Commit(res, mode, cas)
	if err != nil {
		t.Fatalf("commit %q: %v", key, err)
	}
	return r
}

func get(s *Store, key string) (string, Item, bool) {
	it, v, ok := s.Get([]byte(key), nil, false, 0)
	return string(v), it, ok
}

func TestStoreModes(t *testing.T) {
	s := newTestStore(t, 8)
	steps := []struct {
		mode       Mode
		key, value string
		want       Result
		after      string // value read back; "" for a miss
	}{
		{ModeReplace, "k", "x", NotStored, ""},
		{ModeAppend, "k", "x", NotStored, ""},
		{ModeAdd, "k", "one", Stored, "one"},
		{ModeAdd, "k", "two", NotStored, "one"},
		{ModeReplace, "k", "three", Stored, "three"},
		{ModeAppend, "k", "-end", Stored, "three-end"},
		{ModePrepend, "k", "start-", Stored, "start-three-end"},
		{ModeSet, "k", "", Stored, ""},
	}
	for i, st := range steps {
		if got := put(t, s, st.mode, st.key, st.value, 0); got != st.want {
			t.Fatalf("step %d: result %v, want %v", i, got, st.want)
		}
		v, it, ok := get(s, st.key)
		if v != st.after || (st.after != "" && !ok) {
			t.Fatalf("step %d: read %q ok=%v, want %q", i, v, ok, st.after)
		}
		if ok && it.Flags != 7 {
			t.Fatalf("step %d: flags %d, want 7", i, it.Flags)
		}
	}
}

func TestStoreCAS(t *testing.T) {
	s := newTestStore(t, 8)
	if got := put(t, s, ModeCAS, "k", "v", 1); got != NotFound {
		t.Fatalf("cas on a miss: %v, want NotFound", got)
	}
	put(t, s, ModeSet, "k", "v1", 0)
	_, it1, _ := get(s, "k")
	put(t, s, ModeSet, "k", "v2", 0)
	_, it2, _ := get(s, "k")
	if it2.CAS <= it1.CAS {
		t.Fatalf("CAS did not increase: %d then %d", it1.CAS, it2.CAS)
	}
	if got := put(t, s, ModeCAS, "k", "v3", it1.CAS); got != Exists {
		t.Fatalf("cas with a stale unique: %v, want Exists", got)
	}
	if got := put(t, s, ModeCAS, "k", "v3", it2.CAS); got != Stored {
		t.Fatalf("cas with the current unique: %v, want Stored", got)
	}
	if v, _, _ := get(s, "k"); v != "v3" {
		t.Fatalf("value %q, want v3", v)
	}
	tot := s.Totals()
	if tot.CasMisses != 1 || tot.CasBadval != 1 || tot.CasHits != 1 {
		t.Fatalf("cas stats %+v", tot.OpCounters)
	}
}

func TestStoreArith(t *testing.T) {
	s := newTestStore(t, 8)
	cases := []struct {
		start string
		incr  bool
		delta uint64
		want  uint64
		read  string
	}{
		{"10", false, 1, 9, "9 "},
		{"9", true, 1, 10, "10"},
		{"18446744073709551615", true, 2, 1, "1                   "},
		{"5", false, 10, 0, "0"},
		{"99", true, 1, 100, "100"},
	}
	for _, c := range cases {
		put(t, s, ModeSet, "n", c.start, 0)
		v, _, found, err := s.Arith([]byte("n"), c.incr, c.delta)
		if err != nil || !found || v != c.want {
			t.Fatalf("%s %v %d: got %d %v %v, want %d", c.start, c.incr, c.delta, v, found, err, c.want)
		}
		if got, _, _ := get(s, "n"); got != c.read {
			t.Fatalf("%s: read back %q, want %q", c.start, got, c.read)
		}
	}
	put(t, s, ModeSet, "n", "12a", 0)
	if _, _, _, err := s.Arith([]byte("n"), true, 1); !errors.Is(err, ErrNonNumeric) {
		t.Fatalf("non-numeric: %v", err)
	}
	if _, _, found, err := s.Arith([]byte("missing"), true, 1); found || err != nil {
		t.Fatalf("miss: found=%v err=%v", found, err)
	}
	v, _, found, err := s.ArithOrCreate([]byte("made"), true, 5, &Create{Initial: 42})
	if v != 42 || found || err != nil {
		t.Fatalf("create: %d %v %v", v, found, err)
	}
	if got, _, _ := get(s, "made"); got != "42" {
		t.Fatalf("created value %q", got)
	}
}

func TestStoreExpiry(t *testing.T) {
	s := newTestStore(t, 8)
	now := s.Now()
	set := func(key string, exptime int64) {
		res, err := s.Reserve([]byte(key), 0, exptime, 1, ModeSet)
		if err != nil {
			t.Fatal(err)
		}
		s.Commit(res, ModeSet, 0)
	}
	set("never", 0)
	set("past", -1)
	set("soon", 10)
	set("abs-future", s.clock.Unix(now)+100)
	set("abs-past", s.clock.Unix(now)-100) // beyond 30 days, so a unix time: passed
	set("abs-1970", maxRelativeExptime+1)  // the smallest unix time taken as one
	for key, want := range map[string]bool{"never": true, "past": false, "soon": true, "abs-future": true, "abs-past": false, "abs-1970": false} {
		if _, _, ok := get(s, key); ok != want {
			t.Errorf("%s: found=%v, want %v", key, ok, want)
		}
	}
	s.clock.now.Store(now + 10)
	if _, _, ok := get(s, "soon"); ok {
		t.Error("soon: still there at its expiry second")
	}
	if tot := s.Totals(); tot.GetExpired < 2 {
		t.Errorf("get_expired %d, want >= 2", tot.GetExpired)
	}
	if !s.Touch([]byte("never"), 5) {
		t.Fatal("touch missed")
	}
	s.clock.now.Store(now + 15)
	if _, _, ok := get(s, "never"); ok {
		t.Error("touched item outlived its new expiry")
	}
}

func TestStoreFlushAll(t *testing.T) {
	s := newTestStore(t, 8)
	put(t, s, ModeSet, "a", "1", 0)
	s.FlushAll(0)
	if _, _, ok := get(s, "a"); ok {
		t.Fatal("flushed item still readable")
	}
	put(t, s, ModeSet, "b", "2", 0)
	if _, _, ok := get(s, "b"); !ok {
		t.Fatal("item stored after a flush is gone")
	}
}

// fill stores n items of size bytes under prefix and returns their keys.
func fill(t testing.TB, s *Store, prefix string, n, size int) []string {
	keys := make([]string, n)
	val := bytes.Repeat([]byte("v"), size)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%d", prefix, i)
		res, err := s.Reserve([]byte(keys[i]), 0, 0, size, ModeSet)
		if err != nil {
			t.Fatalf("storing %s: %v", keys[i], err)
		}
		copy(s.Value(res), val)
		s.Commit(res, ModeSet, 0)
	}
	return keys
}

func TestStoreEvictsLeastRecentlyUsed(t *testing.T) {
	s := newTestStore(t, 2)
	keys := fill(t, s, "k", 400, 10000) // 4 MB of 10 KB items: twice what fits
	tot := s.Totals()
	if tot.Evictions == 0 {
		t.Fatal("no evictions after storing twice the memory limit")
	}
	if tot.Pages > 2 {
		t.Fatalf("%d pages in use, limit is 2", tot.Pages)
	}
	if _, _, ok := get(s, keys[0]); ok {
		t.Error("the oldest item survived")
	}
	if _, _, ok := get(s, keys[len(keys)-1]); !ok {
		t.Error("the newest item was evicted")
	}
}

func TestStoreReclaimsExpiredBeforeEvicting(t *testing.T) {
	s := newTestStore(t, 1)
	val := make([]byte, 10000)
	for i := 0; i < 60; i++ {
		res, err := s.Reserve([]byte(fmt.Sprint("x", i)), 0, 1, len(val), ModeSet)
		if err != nil {
			t.Fatal(err)
		}
		s.Commit(res, ModeSet, 0)
	}
	s.clock.now.Store(s.Now() + 5)
	fill(t, s, "live", 60, 10000)
	tot := s.Totals()
	if tot.Reclaimed == 0 || tot.Evictions != 0 {
		t.Fatalf("reclaimed %d evictions %d: expired items should make room first", tot.Reclaimed, tot.Evictions)
	}
}

func TestStoreDisableEvictions(t *testing.T) {
	s := newTestStore(t, 1, func(c *Config) { c.DisableEvictions = true })
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		_, err = s.Reserve([]byte(fmt.Sprint(i)), 0, 0, 10000, ModeSet)
	}
	if !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("got %v, want ErrOutOfMemory", err)
	}
}

func TestStoreTooLarge(t *testing.T) {
	s := newTestStore(t, 8)
	if _, err := s.Reserve([]byte("k"), 0, 0, 1<<20, ModeSet); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("1 MB value: %v, want ErrTooLarge (the header must fit too)", err)
	}
	if _, err := s.Reserve([]byte("k"), 0, 0, 1<<20-100, ModeSet); err != nil {
		t.Fatalf("value just under 1 MB: %v", err)
	}
}

// Items never mix: under concurrent writers, readers, deleters and
// counters, a key only ever reads back a value written for it.
func TestStoreConcurrentIntegrity(t *testing.T) {
	s := newTestStore(t, 2)
	const workers, ops, keys = 8, 3000, 500
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			var buf []byte
			for i := 0; i < ops; i++ {
				k := fmt.Sprint("key", rng.IntN(keys))
				switch rng.IntN(10) {
				case 0:
					s.Delete([]byte(k))
				case 1, 2, 3:
					n := 100 + rng.IntN(20000)
					v := bytes.Repeat([]byte(k+"|"), n/len(k)+1)[:n]
					res, err := s.Reserve([]byte(k), uint32(n), 0, n, ModeSet)
					if err != nil {
						continue
					}
					copy(s.Value(res), v)
					s.Commit(res, ModeSet, 0)
				default:
					it, v, ok := s.Get([]byte(k), buf[:0], false, 0)
					buf = v
					if ok && (int(it.Flags) != len(v) || !bytes.HasPrefix(v, []byte(k+"|"))) {
						errs <- fmt.Errorf("%s read back %d bytes %.20q with flags %d", k, len(v), v, it.Flags)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Items and the index live outside the Go heap: storing a million items
// grows the heap by nothing that grows with them.
func TestStoreItemsCostTheHeapNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("stores a million items")
	}
	s := newTestStore(t, 256)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fill(t, s, "item:", 1_000_000, 100)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if tot := s.Totals(); tot.CurrItems != 1_000_000 {
		t.Fatalf("curr_items %d", tot.CurrItems)
	}
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// The segments' bookkeeping is a few KB; the items would be 150 MB.
	if grown > 4<<20 {
		t.Fatalf("heap grew %d MB for a million items", grown>>20)
	}
	t.Logf("heap grew %.1f MB for 1,000,000 items of 100 bytes", float64(grown)/(1<<20))
}

// Merge eviction keeps an item read between merges, while the cache turns
// over several times with items read once.
func TestStoreKeepsFrequentlyReadItems(t *testing.T) {
	s := newTestStore(t, 8)
	keys := fill(t, s, "k", 50, 10000)
	for i := 0; i < 3000; i++ { // 30 MB through an 8 MB cache
		if _, _, ok := get(s, keys[0]); !ok {
			t.Fatalf("hot key evicted after %d more items", i)
		}
		fill(t, s, fmt.Sprintf("n%d-", i), 1, 10000)
	}
	if s.Totals().Evictions == 0 {
		t.Fatal("no evictions")
	}
}

// A hit allocates nothing, with or without options.
func TestGetHitAllocatesNothing(t *testing.T) {
	s := newTestStore(t, 8)
	put(t, s, ModeSet, "k", "value", 0)
	key, buf := []byte("k"), make([]byte, 0, 64)
	var steps [MaxSteps]Step
	o := GetOptions{Key: key, Steps: append(steps[:0], StepReportTTL, StepTouch), TTL: 100, Value: true}
	if n := testing.AllocsPerRun(100, func() {
		if _, v, ok := s.Get(key, buf[:0], false, 0); !ok || string(v) != "value" {
			t.Fatal("miss")
		}
		if _, v, ok := s.GetWith(&o, buf[:0]); !ok || string(v) != "value" {
			t.Fatal("miss")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per read", n)
	}
}

func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if env := os.Getenv("SHOAL_STORE_SEED"); env != "" {
		seed, _ = strconv.ParseUint(env, 10, 64)
	}
	t.Logf("seed %d (SHOAL_STORE_SEED=%d reproduces it)", seed, seed)
	return seed
}

// Items larger than a segment get a run of segments of their own; evicting
// one frees the whole run, and small items and large ones evict each other
// without a wrong byte.
func TestStoreLargeItems(t *testing.T) {
	s := newTestStore(t, 24, func(c *Config) { c.MaxItemSize = 64 << 20 })
	if _, err := s.Reserve([]byte("k"), 0, 0, 64<<20, ModeSet); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("64 MB value under -I 64m: %v, want ErrTooLarge", err)
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 2))
	last := map[string]int{}
	for i := 0; i < 120; i++ {
		key := fmt.Sprint("big", rng.IntN(20))
		n := 1 + rng.IntN(3<<20)
		if rng.IntN(3) == 0 {
			n = 1 + rng.IntN(1000) // small ones among them
		}
		v := modelValue(key, uint64(i), n)
		res, err := s.Reserve([]byte(key), 0, 0, n, ModeSet)
		if err != nil {
			t.Fatalf("storing %d bytes: %v", n, err)
		}
		copy(s.Value(res), v)
		if r, _, err := s.Commit(res, ModeSet, 0); r != Stored || err != nil {
			t.Fatalf("commit %d bytes: %v %v", n, r, err)
		}
		last[key] = i
		for _, k := range []string{key, fmt.Sprint("big", rng.IntN(20))} {
			got, _, ok := get(s, k)
			if k == key && !ok {
				t.Fatalf("%s missed right after it was stored", k)
			}
			if seq, set := last[k]; ok && (!set || got != string(modelValue(k, uint64(seq), len(got)))) {
				t.Fatalf("%s read back a value it was not last given (%d bytes)", k, len(got))
			}
		}
		if tot := s.Totals(); tot.Pages > 24+1 {
			t.Fatalf("%d segments in use, limit 24", tot.Pages)
		}
	}
	if s.Totals().Evictions == 0 {
		t.Fatal("no evictions: the test did not exercise them")
	}
}

// modelValue is the value stored for key's seq-th write: the key, the
// sequence number and a CRC of both, then filler up to n bytes.
func modelValue(key string, seq uint64, n int) []byte {
	v := make([]byte, n)
	head := binary.LittleEndian.AppendUint64([]byte(key), seq)
	head = binary.LittleEndian.AppendUint32(head, crc32.ChecksumIEEE(head))
	for i := range v {
		v[i] = head[i%len(head)]
	}
	return v
}

// The index finds every item and no deleted one while its tables grow and
// deletions shift probe runs back.
func TestIndexChurn(t *testing.T) {
	s := newTestStore(t, 64)
	keys := fill(t, s, "i", 200_000, 8)
	for i := 0; i < len(keys); i += 3 {
		if !s.Delete([]byte(keys[i])) {
			t.Fatalf("delete %s missed", keys[i])
		}
	}
	for i, k := range keys {
		if _, _, ok := get(s, k); ok != (i%3 != 0) {
			t.Fatalf("%s found %v after deleting every third key", k, ok)
		}
	}
	if n := s.Totals().CurrItems; n != len(keys)-(len(keys)+2)/3 {
		t.Fatalf("curr_items %d", n)
	}
}
