package slab

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
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
	// shard and class locked: it must be quick and must not call the store.
	OnEvict          func(Eviction)
	MemoryLimit      int64   // bytes of item memory
	MaxItemSize      int     // largest item (header, key and value)
	GrowthFactor     float64 // chunk size factor between classes
	MinChunk         int     // key and value bytes of the smallest class
	DisableCAS       bool    // report CAS 0, as memcached -C does
	DisableEvictions bool    // fail stores instead of evicting, as memcached -M does
	// NoPageMoves keeps every page in the class it was first given to, as
	// memcached's no_slab_reassign: a class with nothing to evict fails
	// its stores once memory is full.
	NoPageMoves bool
	// Automove moves pages between classes (slab_automove): by their
	// eviction rates and tail ages over the last AutomoveWindow seconds
	// with AutomoveRatio (see automove.go), or on every eviction. Zero
	// window and ratio mean memcached's defaults.
	Automove       AutomoveMode
	AutomoveRatio  float64
	AutomoveWindow int
	NoCrawler      bool // no background crawler (no_lru_crawler)
}

// pageSize is memcached's slab page size; larger items get larger pages.
const pageSize = 1 << 20

// Store is a node's items: the slab-allocated arena, the sharded index and
// the LRU lists, safe for use by many goroutines.
type Store struct {
	cfg    Config
	arena  *arena
	slabs  *slabs
	m      items
	shards [shardCount]shard
	seed   maphash.Seed
	clock  *clock

	cas           atomic.Uint64 // last CAS unique handed out
	flushCAS      atomic.Uint64 // items with a lower CAS were flushed
	flushAt       atomic.Uint32 // clock second of a pending delayed flush, 0 none
	moveMu        sync.Mutex    // one page move at a time (mover.go)
	automove      atomic.Uint32 // AutomoveMode
	automoveRatio atomic.Uint64 // slab_automove_ratio's float64 bits
	crawler       crawler
	stopTick      chan struct{}
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
	cfg.AutomoveWindow = cmp.Or(cfg.AutomoveWindow, DefaultAutomoveWindow)
	cfg.AutomoveRatio = cmp.Or(cfg.AutomoveRatio, DefaultAutomoveRatio)
	if cfg.Automove > AutomoveAggressive || (cfg.AutomoveWindow < 3 || !(cfg.AutomoveRatio > 0 && cfg.AutomoveRatio <= 1)) {
		return nil, fmt.Errorf("automove window %d (want 3 or more) or ratio %v (want 0 to 1) or mode %d", cfg.AutomoveWindow, cfg.AutomoveRatio, cfg.Automove)
	}
	ps := pageSize
	for ps < cfg.MaxItemSize {
		ps *= 2
	}
	limitPages := int(cfg.MemoryLimit / int64(ps))
	if limitPages < 1 {
		limitPages = 1
	}
	// Reserve room for cache_memlimit to grow into, without committing it.
	reserve := max(limitPages, (4<<30)/ps) + 1
	reserve = min(reserve, maxArena/ps)
	if limitPages+1 > reserve {
		return nil, fmt.Errorf("memory limit %d MB above the %d MB a node can address", cfg.MemoryLimit>>20, maxArena>>20)
	}
	a, err := newArena(reserve*ps, ps)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, arena: a, m: items(a.mem), seed: maphash.MakeSeed(),
		clock: newClock(), stopTick: make(chan struct{})}
	s.automove.Store(uint32(cfg.Automove))
	s.slabs = newSlabs(a, limitPages, cfg.MinChunk, cfg.GrowthFactor)
	for i := range s.shards {
		s.shards[i].buckets = make([]ref, initialBuckets)
		s.shards[i].byClass = make([]ClassOps, len(s.slabs.classes))
	}
	s.SetAutomoveRatio(cfg.AutomoveRatio)
	go s.tick()
	return s, nil
}

// Close stops the clock and releases the arena. No call may be in flight.
func (s *Store) Close() error {
	s.stopBackground()
	return s.arena.close()
}

// stopBackground stops the clock, the rebalancer and the crawler.
func (s *Store) stopBackground() { s.stopOnce.Do(func() { close(s.stopTick) }) }

func (s *Store) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	mover := newAutomover(len(s.slabs.classes), s.cfg.AutomoveWindow, s.cfg.AutomoveRatio)
	for {
		select {
		case <-s.stopTick:
			return
		case <-t.C:
			s.clock.tick()
			s.flushIfDue()
			if !s.cfg.NoCrawler {
				s.crawl(crawlBudget)
			}
			if mode := s.Automove(); mode != AutomoveOff && !s.cfg.NoPageMoves && !s.cfg.DisableEvictions {
				s.rebalance(mover, mode)
			}
		}
	}
}

// Now is the store's clock: seconds since start, as memcached counts them.
func (s *Store) Now() uint32 { return s.clock.Now() }

func (s *Store) hash(key []byte) uint32 {
	return uint32(maphash.Bytes(s.seed, key))
}

// lockKey locks key's shard, returning it and the key's hash.
func (s *Store) lockKey(key []byte) (*shard, uint32) {
	h := s.hash(key)
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	return sh, h
}

// hashOf is the hash of a chunk's key.
func (s *Store) hashOf(r ref) uint32 { return s.hash(s.m.keyOf(r)) }

// link puts an allocated chunk in the index and its class's LRU, giving it
// a new CAS. The shard lock is held.
func (s *Store) link(sh *shard, r ref) {
	s.m.setCAS(r, s.cas.Add(1))
	s.m.setU32(r, hdrAtime, s.clock.Now())
	s.m.setU8(r, hdrState, itemLinked)
	sh.insert(s.m, r, s.hashOf(r), s.hash)
	sh.stats.TotalItems++
	c := s.slabs.classes[s.m.class(r)]
	c.mu.Lock()
	c.lru.pushHead(s.m, r)
	c.lru.items++
	c.lru.bytes += s.m.total(r)
	c.mu.Unlock()
}

// unlink takes a linked item out of the index and LRU and frees its chunk.
// The shard lock is held, and the class lock too when classLocked.
func (s *Store) unlink(sh *shard, r ref, classLocked bool) {
	sh.delete(s.m, r, s.hashOf(r))
	c := s.slabs.classes[s.m.class(r)]
	if !classLocked {
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	c.lru.remove(s.m, r)
	c.lru.items--
	c.lru.bytes -= s.m.total(r)
	s.slabs.release(c, r)
}
