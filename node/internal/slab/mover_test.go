package slab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// storeValue stores key with a value of n bytes, each of them b.
func storeValue(t testing.TB, s *Store, key string, n int, b byte) {
	t.Helper()
	res, err := s.Reserve([]byte(key), 0, 0, n, ModeSet)
	if err != nil {
		t.Fatalf("storing %s (%d bytes): %v", key, n, err)
	}
	v := s.Value(res)
	for i := range v {
		v[i] = b
	}
	s.Commit(res, ModeSet, 0)
}

// moveOnePage moves a page from the class that would donate one to dst, as
// an allocation does.
func moveOnePage(s *Store, src, dst *slabClass) bool {
	s.moveMu.Lock()
	defer s.moveMu.Unlock()
	return s.movePageFrom(src, dst, holdingNothing)
}

// The reproduction: a page moved into a class whose current page is
// only partly cut, then that class's first page moved on. The move used to
// drop the partly cut page's carve position and read the old bytes of its
// uncut chunks as item headers: a panic with value bytes 0x76, a move that
// failed for good with 0x01 (read as "being filled").
func TestStorePageMoveIntoPartlyCutClass(t *testing.T) {
	for _, b := range []byte{0x76, 0x02, 0x01} {
		t.Run(fmt.Sprintf("value byte %#x", b), func(t *testing.T) {
			s := newTestStore(t, 4)
			s.stopBackground()
			for i := 0; i < 40000; i++ {
				storeValue(t, s, fmt.Sprint("small", i), 250, b)
			}
			storeValue(t, s, "mid", 3000, b) // takes a page and cuts one chunk of it
			mid := s.slabs.classFor(itemSize(3, 3000))
			small := s.slabs.classFor(itemSize(10, 250))
			if !moveOnePage(s, small, mid) {
				t.Fatal("no page moved into the 3,000-byte class")
			}
			big := s.slabs.classFor(itemSize(3, 20000))
			rescued := s.Totals().Rescues
			if !moveOnePage(s, mid, big) {
				t.Fatal("the 3,000-byte class's first page did not move")
			}
			checkStore(t, s)
			v, _, ok := get(s, "mid")
			if !ok || v != string(bytes.Repeat([]byte{b}, 3000)) {
				t.Fatalf("the 3,000-byte item was not rescued into the class's other page: found %v", ok)
			}
			if n := s.Totals().Rescues - rescued; n != 1 {
				t.Fatalf("the move rescued %d items, want 1", n)
			}
		})
	}
}

// checkStore verifies the store's bookkeeping against its arena: every cut
// chunk of a class's page is free (and on the free list) or linked (and
// found by the index, and on the LRU list); the counts agree; every used
// page belongs to exactly one class. Nothing may be in flight.
func checkStore(t testing.TB, s *Store) {
	t.Helper()
	owned := 0
	for _, c := range s.slabs.classes[1:] {
		c.mu.Lock()
		err := s.checkClass(c)
		owned += len(c.pages)
		c.mu.Unlock()
		if err != nil {
			t.Fatalf("class %d (%d-byte chunks): %v", c.id, c.size, err)
		}
	}
	if used := s.slabs.usedPages(); owned != used {
		t.Fatalf("classes own %d pages, %d are in use", owned, used)
	}
}

func (s *Store) checkClass(c *slabClass) error {
	onFree := map[ref]bool{}
	for r := c.free; r != 0; r = s.m.ref(r, hdrHnext) {
		if onFree[r] {
			return fmt.Errorf("free list loops at %d", r)
		}
		onFree[r] = true
	}
	if len(onFree) != c.nfree {
		return fmt.Errorf("free list has %d chunks, nfree %d", len(onFree), c.nfree)
	}
	onLRU := map[ref]bool{}
	for r := c.lru.head; r != 0; r = s.m.ref(r, hdrNext) {
		onLRU[r] = true
	}
	if len(onLRU) != c.lru.items {
		return fmt.Errorf("LRU list has %d items, count %d", len(onLRU), c.lru.items)
	}
	linked, free := 0, 0
	for _, p := range c.pages {
		if s.slabs.classOfPage(p) != c {
			return fmt.Errorf("page %d is listed as another class's", p)
		}
		for i := 0; i < c.chunksCut(p); i++ {
			r := refOf(p*s.arena.pageSize + i*c.size)
			switch s.m.u8(r, hdrState) {
			case itemFree:
				free++
				if !onFree[r] {
					return fmt.Errorf("free chunk %d of page %d is not on the free list", i, p)
				}
			case itemLinked:
				linked++
				key := s.m.keyOf(r)
				h := s.hash(key)
				if s.shards[shardOf(h)].find(s.m, key, h) != r || !onLRU[r] || s.m.class(r) != c.id {
					return fmt.Errorf("linked chunk %d of page %d (%q) is not indexed, listed and of this class", i, p, key)
				}
			default:
				return fmt.Errorf("chunk %d of page %d has state %d with nothing in flight", i, p, s.m.u8(r, hdrState))
			}
		}
	}
	if linked != c.lru.items || free != c.nfree {
		return fmt.Errorf("pages hold %d linked and %d free chunks; counts say %d and %d", linked, free, c.lru.items, c.nfree)
	}
	return nil
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

// randomSize is skewed towards small values, log-uniform from 1 byte to
// what the largest item allows.
func randomSize(rng *rand.Rand, largest int) int {
	return min(largest, int(math.Exp(rng.Float64()*math.Log(float64(largest)))))
}

func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if env := os.Getenv("SHOAL_STORE_SEED"); env != "" {
		seed, _ = strconv.ParseUint(env, 10, 64)
	}
	t.Logf("seed %d (SHOAL_STORE_SEED=%d reproduces it)", seed, seed)
	return seed
}

// A model check of the engine under mixed sizes with page moves forced
// often: sets of 1 byte to 1 MB, gets, deletes, flushes, forced moves to
// random classes, the rebalancer and the crawler, all from one goroutine so
// that the model is exact. Every set that fits -I must succeed (the store
// has more pages than classes, so a donor always exists); a get returns the
// last value set for the key or misses, never an older or a wrong one; a
// deleted or flushed key misses; and the bookkeeping stays consistent.
func TestStoreModelMixedSizesWithPageMoves(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 9))
	s := newTestStore(t, 64)
	s.stopBackground() // the test drives the clock, the rebalancer and the crawler
	ops := 10000
	if testing.Short() {
		ops = 4000
	}
	largest := s.cfg.MaxItemSize - 59 - 8
	type entry struct {
		seq uint64
		n   int
	}
	model := map[string]entry{}
	var seq uint64
	auto := newAutomover(len(s.slabs.classes), DefaultAutomoveWindow, DefaultAutomoveRatio)
	for op := 0; op < ops; op++ {
		key := fmt.Sprint("k", rng.IntN(3000))
		switch x := rng.IntN(100); {
		case x < 55:
			seq++
			n := randomSize(rng, largest-len(key))
			res, err := s.Reserve([]byte(key), 0, 0, n, ModeSet)
			if err != nil {
				t.Fatalf("op %d: set %s of %d bytes: %v", op, key, n, err)
			}
			copy(s.Value(res), modelValue(key, seq, n))
			if r, _, _ := s.Commit(res, ModeSet, 0); r != Stored {
				t.Fatalf("op %d: set %s: %v", op, key, r)
			}
			model[key] = entry{seq, n}
		case x < 85:
			v, _, ok := get(s, key)
			e, known := model[key]
			if ok && (!known || v != string(modelValue(key, e.seq, e.n))) {
				t.Fatalf("op %d: %s read back %d bytes that are not its last value (seq %d, %d bytes)", op, key, len(v), e.seq, e.n)
			}
		case x < 92:
			s.Delete([]byte(key))
			delete(model, key)
		case x < 98:
			dst := s.slabs.classes[1+rng.IntN(len(s.slabs.classes)-1)]
			s.movePage(dst, holdingNothing)
		case x < 99:
			s.clock.now.Add(1)
			s.rebalance(auto, AutomoveWindowed)
			s.crawl(crawlBudget)
		default:
			if rng.IntN(20) == 0 {
				s.FlushAll(0)
				clear(model)
			}
		}
		if op%1000 == 999 {
			checkStore(t, s)
		}
	}
	checkStore(t, s)
	tot := s.Totals()
	t.Logf("%d ops: %d pages moved, %d rescued, %d evicted, %d evicted off moving pages", ops, tot.PagesMoved, tot.Rescues, tot.Evictions, tot.EvictionsNomem)
	if tot.PagesMoved == 0 {
		t.Fatal("no page moved: the test did not exercise the mover")
	}
}

// The same engine under concurrency: writers of mixed sizes, each owning its
// keys (so each keeps an exact model), while another goroutine forces page
// moves and crawls. Values never mix and never go back, and afterwards a
// set of every size succeeds.
func TestStoreConcurrentPageMoves(t *testing.T) {
	seed := testSeed(t)
	s := newTestStore(t, 48)
	const workers = 4
	ops := 4000
	if testing.Short() {
		ops = 1000
	}
	stop := make(chan struct{})
	var mover sync.WaitGroup
	tries := 0
	mover.Add(1)
	go func() {
		defer mover.Done()
		rng := rand.New(rand.NewPCG(seed, 1))
		for {
			select {
			case <-stop:
				return
			default:
			}
			tries++
			s.movePage(s.slabs.classes[1+rng.IntN(len(s.slabs.classes)-1)], holdingNothing)
			s.crawl(1000)
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			errs <- concurrentWorker(s, rand.New(rand.NewPCG(seed, uint64(w+2))), w, ops)
		}(w)
	}
	wg.Wait()
	close(stop)
	mover.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s.stopBackground()
	checkStore(t, s)
	t.Logf("pages moved %d of %d tries, rescued %d", s.Totals().PagesMoved, tries, s.Totals().Rescues)
	for n := 1; n < s.cfg.MaxItemSize-100; n *= 2 {
		storeValue(t, s, fmt.Sprint("after", n), n, 'a') // no class is left refusing sets
	}
}

func concurrentWorker(s *Store, rng *rand.Rand, w, ops int) error {
	last := map[string][]byte{}
	var seq uint64
	for i := 0; i < ops; i++ {
		key := fmt.Sprintf("w%d-%d", w, rng.IntN(600))
		if rng.IntN(2) == 0 {
			seq++
			n := randomSize(rng, 200000)
			v := modelValue(key, seq, n)
			res, err := s.Reserve([]byte(key), 0, 0, n, ModeSet)
			if err != nil {
				delete(last, key) // a failed set removes the old value
				continue
			}
			copy(s.Value(res), v)
			s.Commit(res, ModeSet, 0)
			last[key] = v
			continue
		}
		if v, _, ok := get(s, key); ok && v != string(last[key]) {
			return fmt.Errorf("%s read back %d bytes that are not its last value", key, len(v))
		}
	}
	return nil
}

// Dead items leave curr_items and bytes within seconds, without a read:
// the crawler frees flushed and expired items in the background.
func TestStoreCrawlerReclaimsDeadItems(t *testing.T) {
	s := newTestStore(t, 8)
	fill(t, s, "flushed", 1000, 100)
	s.FlushAll(0)
	for i := 0; i < 1000; i++ {
		res, err := s.Reserve([]byte(fmt.Sprint("expiring", i)), 0, 2, 100, ModeSet)
		if err != nil {
			t.Fatal(err)
		}
		s.Commit(res, ModeSet, 0)
	}
	fill(t, s, "live", 10, 100)
	deadline := time.Now().Add(10 * time.Second)
	for s.Totals().CurrItems != 10 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	tot := s.Totals()
	if tot.CurrItems != 10 || tot.Bytes != 10*itemSize(5, 100) {
		t.Fatalf("curr_items %d bytes %d ten seconds after a flush and expiry; want 10 live items of %d bytes", tot.CurrItems, tot.Bytes, itemSize(5, 100))
	}
	if tot.CrawlerReclaimed != 2000 {
		t.Fatalf("crawler_reclaimed %d, want 2000", tot.CrawlerReclaimed)
	}
}

// With no_slab_reassign a class that has no pages once memory is full
// cannot store, as in memcached; by default it takes a page from another.
func TestNoSlabReassignKeepsPages(t *testing.T) {
	for _, noMoves := range []bool{false, true} {
		s := newTestStore(t, 4, func(c *Config) { c.NoPageMoves = noMoves })
		fill(t, s, "small", 60000, 100) // memory full of small items
		_, err := s.Reserve([]byte("big"), 0, 0, 20000, ModeSet)
		switch {
		case noMoves && !errors.Is(err, ErrOutOfMemory):
			t.Errorf("no page moves: a new class's first item reserved (%v), want out of memory", err)
		case !noMoves && err != nil:
			t.Errorf("with page moves: %v", err)
		}
	}
}
