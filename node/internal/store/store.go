package store

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Errors a storage command can end with, besides its protocol result.
var (
	ErrTooLarge    = errors.New("object too large for cache")
	ErrOutOfMemory = errors.New("out of memory storing object")
	ErrNonNumeric  = errors.New("cannot increment or decrement non-numeric value")
)

// Config sizes a Store.
type Config struct {
	// OnEvict, when set, is told of every item evicted, with the item's
	// shard locked: it must be quick and must not call the store.
	OnEvict     func(Eviction)
	MemoryLimit int64 // bytes of item memory
	MaxItemSize int   // largest item, counted as memcached counts it
	// GrowthFactor (-f) and MinChunk (-n) size memcached's slab classes.
	// Segments have none, but stats count each item in the class memcached
	// would give it: -f is the factor between those classes' chunk sizes,
	// -n the key and value bytes of the smallest.
	GrowthFactor     float64
	MinChunk         int
	DisableCAS       bool // report CAS 0, as memcached -C does
	DisableEvictions bool // fail stores instead of evicting, as memcached -M does
	// NoPageMoves is memcached's no_slab_reassign: slabs reassign answers
	// that reassignment is disabled. Segments have no class, so there is
	// nothing else it changes.
	NoPageMoves bool
	// Automove, AutomoveRatio and AutomoveWindow are memcached's
	// slab_automove settings, kept and reported for the tools that set
	// them: segments need no rebalancing.
	Automove       AutomoveMode
	AutomoveRatio  float64
	AutomoveWindow int
	NoCrawler      bool // no background crawler (no_lru_crawler)
}

// Store is a node's items: the segments, the sharded index and the TTL
// buckets, safe for use by many goroutines.
type Store struct {
	cfg     Config
	arena   *arena
	m       items
	shards  [shardCount]shard
	buckets [ttlBuckets + 1]ttlBucket
	seed    maphash.Seed
	clock   *clock
	classes []int // virtual class chunk sizes; classes[0] unused

	// segMu guards the free segments, the chains and segment bookkeeping;
	// it is taken last, after a shard's and a bucket's lock.
	segMu sync.Mutex
	seq   uint64
	// evictMu is held by whoever frees segments (evict.go, expire.go,
	// crawl.go, dump.go), before any shard's lock.
	evictMu sync.Mutex
	frees   atomic.Uint64 // segments freed so far
	// outOfMemory counts the stores refused for want of memory, by class.
	outOfMemory []atomic.Uint64

	cas           atomic.Uint64 // last CAS unique handed out
	flushCAS      atomic.Uint64 // items with a lower CAS were flushed
	flushAt       atomic.Uint32 // clock second of a pending delayed flush, 0 none
	automove      atomic.Uint32 // AutomoveMode
	automoveRatio atomic.Uint64 // slab_automove_ratio's float64 bits
	crawler       crawler
	stopTick      chan struct{}
	tickDone      chan struct{}
	stopOnce      sync.Once
}

// New reserves the arena and starts the store's clock.
func New(cfg Config) (*Store, error) {
	if cfg.GrowthFactor <= 1 {
		return nil, fmt.Errorf("slab growth factor %v must be above 1", cfg.GrowthFactor)
	}
	if cfg.MinChunk < 1 {
		return nil, fmt.Errorf("slab minimum size %d must be positive", cfg.MinChunk)
	}
	if cfg.MaxItemSize < 1024 {
		return nil, fmt.Errorf("max item size %d below 1 KB", cfg.MaxItemSize)
	}
	if cfg.AutomoveWindow == 0 {
		cfg.AutomoveWindow = DefaultAutomoveWindow
	}
	if cfg.AutomoveRatio == 0 {
		cfg.AutomoveRatio = DefaultAutomoveRatio
	}
	if cfg.Automove > AutomoveAggressive || (cfg.AutomoveWindow < 3 || !(cfg.AutomoveRatio > 0 && cfg.AutomoveRatio <= 1)) {
		return nil, fmt.Errorf("automove window %d (want 3 or more) or ratio %v (want 0 to 1) or mode %d", cfg.AutomoveWindow, cfg.AutomoveRatio, cfg.Automove)
	}
	limit := max(int(cfg.MemoryLimit/segSize), 1)
	run := (cfg.MaxItemSize + segSize - 1) / segSize
	// Reserve room for cache_memlimit to grow into and for large items'
	// runs to find contiguous space, without committing any of it.
	reserve := max(limit, (4<<30)/segSize) + 2*run + 2
	reserve = min(reserve, maxArena/segSize)
	if limit+run+1 > reserve {
		return nil, fmt.Errorf("memory limit %d MB above the %d MB a node can address", cfg.MemoryLimit>>20, maxArena>>20)
	}
	a, err := newArena(reserve)
	if err != nil {
		return nil, err
	}
	a.limit = limit
	s := &Store{cfg: cfg, arena: a, m: items(a.mem), seed: maphash.MakeSeed(),
		clock: newClock(), stopTick: make(chan struct{}), tickDone: make(chan struct{}), classes: virtualClasses(cfg.MinChunk, cfg.GrowthFactor)}
	s.outOfMemory = make([]atomic.Uint64, len(s.classes))
	for i := range s.buckets {
		s.buckets[i].id = int32(i)
	}
	for i := range s.shards {
		sh := &s.shards[i]
		if sh.slots, err = newTable(initialSlots); err != nil {
			s.freeTables()
			_ = a.close()
			return nil, err
		}
		sh.hashKey = s.hash
		sh.byClass = make([]classCounters, len(s.classes))
	}
	s.automove.Store(uint32(cfg.Automove))
	s.SetAutomoveRatio(cfg.AutomoveRatio)
	go s.tick()
	return s, nil
}

// Close stops the clock and releases the arena and the index. No call may
// be in flight.
func (s *Store) Close() error {
	s.stopBackground()
	s.freeTables()
	return s.arena.close()
}

func (s *Store) freeTables() {
	for i := range s.shards {
		freeTable(s.shards[i].slots)
		s.shards[i].slots = nil
	}
}

// stopBackground stops the clock, the expiry of segments and the crawler,
// and waits until they have.
func (s *Store) stopBackground() {
	s.stopOnce.Do(func() { close(s.stopTick) })
	<-s.tickDone
}

func (s *Store) tick() {
	defer close(s.tickDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stopTick:
			return
		case <-t.C:
			s.clock.tick()
			s.flushIfDue()
			s.expireSegments()
			if !s.cfg.NoCrawler {
				s.crawl(crawlBudget)
			}
		}
	}
}

// Now is the store's clock: seconds since start, as memcached counts them.
func (s *Store) Now() uint32 { return s.clock.Now() }

func (s *Store) hash(key []byte) uint64 { return maphash.Bytes(s.seed, key) }

// lockKey locks key's shard, returning it and the key's hash.
func (s *Store) lockKey(key []byte) (*shard, uint64) {
	h := s.hash(key)
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	return sh, h
}

// find returns key's indexed item, or 0. The shard lock is held.
func (s *Store) find(sh *shard, key []byte, h uint64) loc {
	if i := sh.find(s.m, key, h); i >= 0 {
		return sh.slots[i].loc()
	}
	return 0
}

// link indexes an allocated item, giving it a new CAS, and unpins it. The
// shard lock is held.
func (s *Store) link(sh *shard, r loc, h uint64) error {
	defer s.unpin(r)
	if err := sh.insert(s.m, r, h); err != nil {
		return err
	}
	s.m.setCAS(r, s.cas.Add(1))
	s.m.setU32(r, hdrAtime, s.clock.Now())
	sh.ops.TotalItems++
	sh.countItem(s.classOf(r), s.m.total(r), 1)
	s.countLive(r, s.m.total(r))
	return nil
}

// unlink takes an item out of the index: its bytes stay in its segment,
// dead, until the segment is merged, evicted or expired. The shard lock is
// held.
func (s *Store) unlink(sh *shard, r loc, h uint64) {
	if i := sh.findLoc(r, h); i >= 0 {
		s.unindex(sh, r, i)
	}
}

// relink points key's slot at r, which replaces old (same key), keeping
// old's read frequency. The shard lock is held.
func (s *Store) relink(sh *shard, old, r loc, h uint64) {
	i := sh.findLoc(old, h)
	sh.countItem(s.classOf(old), s.m.total(old), -1)
	s.countLive(old, -s.m.total(old))
	s.countLive(r, s.m.total(r))
	e := sh.slots[i]
	sh.slots[i] = makeSlot(e.tag(), e.freq(), r)
	s.m.setCAS(r, s.cas.Add(1))
	s.m.setU32(r, hdrAtime, s.clock.Now())
	sh.ops.TotalItems++
	sh.countItem(s.classOf(r), s.m.total(r), 1)
	s.unpin(r)
}

// SetAutomoveRatio sets slab_automove_ratio, which is only reported.
func (s *Store) SetAutomoveRatio(r float64) { s.automoveRatio.Store(math.Float64bits(r)) }

// AutomoveRatio is the slab_automove_ratio now.
func (s *Store) AutomoveRatio() float64 { return math.Float64frombits(s.automoveRatio.Load()) }
