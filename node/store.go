package node

import (
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

// StoreConfig sizes a Store.
type StoreConfig struct {
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
	// Automove moves pages between classes by their eviction rates and
	// tail ages (slab_automove=1), over the last AutomoveWindow seconds
	// with AutomoveRatio (see rebalance.go).
	Automove       bool
	AutomoveRatio  float64
	AutomoveWindow int
	NoCrawler      bool // no background crawler (no_lru_crawler)
}

// pageSize is memcached's slab page size; larger items get larger pages.
const pageSize = 1 << 20

// Store is a node's items: the slab-allocated arena, the sharded index and
// the LRU lists, safe for use by many goroutines.
type Store struct {
	cfg    StoreConfig
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
	automove      atomic.Int32  // slab_automove: 0, 1 or 2 (store_control.go)
	automoveRatio atomic.Uint64 // slab_automove_ratio's float64 bits
	crawler       crawler
	stopTick      chan struct{}
	stopOnce      sync.Once
}

// NewStore reserves the arena and starts the store's clock.
func NewStore(cfg StoreConfig) (*Store, error) {
	if cfg.GrowthFactor <= 1 {
		return nil, fmt.Errorf("slab growth factor %v must be above 1", cfg.GrowthFactor)
	}
	if cfg.MinChunk < 1 {
		return nil, fmt.Errorf("slab minimum size %d must be positive", cfg.MinChunk)
	}
	if cfg.MaxItemSize < 1024 {
		return nil, fmt.Errorf("max item size %d below 1 KB", cfg.MaxItemSize)
	}
	if cfg.Automove && (cfg.AutomoveWindow < 3 || !(cfg.AutomoveRatio > 0 && cfg.AutomoveRatio <= 1)) {
		return nil, fmt.Errorf("automove window %d (want 3 or more) or ratio %v (want 0 to 1)", cfg.AutomoveWindow, cfg.AutomoveRatio)
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
	s.slabs = newSlabs(a, limitPages, cfg.MinChunk, cfg.GrowthFactor)
	for i := range s.shards {
		s.shards[i].buckets = make([]ref, initialBuckets)
	}
	if cfg.Automove {
		s.automove.Store(1)
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
			if at := s.flushAt.Load(); at != 0 && at <= s.clock.Now() {
				s.flushAt.Store(0)
				s.flushCAS.Store(s.cas.Load() + 1)
			}
			if !s.cfg.NoCrawler {
				s.crawl(crawlBudget)
			}
			if s.automove.Load() != 0 && !s.cfg.NoPageMoves && !s.cfg.DisableEvictions {
				s.rebalance(mover)
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

// Item is what a read reports about an item, apart from its value.
type Item struct {
	Flags   uint32
	CAS     uint64
	Exptime uint32 // clock second it expires at; 0 never
	Atime   uint32 // clock second of the previous access
	Size    int    // bytes of chunk used: header, key and value
	Class   int
	Fetched bool // it had been read before this read
}

func (s *Store) itemOf(r ref) Item {
	it := Item{
		Flags:   s.m.u32(r, hdrFlags),
		CAS:     s.m.cas(r),
		Exptime: s.m.u32(r, hdrExptime),
		Atime:   s.m.u32(r, hdrAtime),
		Size:    s.m.total(r),
		Class:   s.m.class(r),
		Fetched: s.m.hasBit(r, bitFetched),
	}
	if s.cfg.DisableCAS {
		it.CAS = 0
	}
	return it
}

// live reports whether a linked item is neither expired nor flushed.
func (s *Store) live(r ref) bool {
	exp := s.m.u32(r, hdrExptime)
	if exp != 0 && exp <= s.clock.Now() {
		return false
	}
	return s.m.cas(r) >= s.flushCAS.Load()
}

// lookup finds a live item, unlinking it if it has expired or been flushed.
// The shard lock is held.
func (s *Store) lookup(sh *shard, key []byte, hash uint32) ref {
	r := sh.find(s.m, key, hash)
	if r == 0 || s.live(r) {
		return r
	}
	if s.m.cas(r) < s.flushCAS.Load() {
		sh.stats.getFlushed++
	} else {
		sh.stats.getExpired++
	}
	s.unlink(sh, r, false)
	return 0
}

// access marks a read. As in memcached, an item must be read twice to earn
// a second chance at the LRU tail (the active bit), and once more after each
// second chance: read-once items, the common case of a cache-aside fill,
// must not outlive items written after them. The shard lock is held.
func (s *Store) access(r ref) {
	if !s.m.hasBit(r, bitFetched) {
		s.m.setBit(r, bitFetched)
		s.m.setU32(r, hdrAtime, s.clock.Now())
		return
	}
	s.bump(r)
}

// bump marks a use that is not a read (an incr, an add that found the
// item), as memcached's do_item_update does: a second chance at the LRU
// tail, without counting the item as fetched (mg h, me). The shard lock is
// held.
func (s *Store) bump(r ref) {
	s.m.setBit(r, bitActive)
	s.m.setU32(r, hdrAtime, s.clock.Now())
}

// Get appends the value of key to dst. With touch it also sets the item's
// expiry to exptime (gat). ok is false on a miss.
func (s *Store) Get(key, dst []byte, touch bool, exptime int64) (it Item, out []byte, ok bool) {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	if touch {
		sh.stats.touchCmds++
	} else {
		sh.stats.getCmds++
	}
	if r == 0 {
		if touch {
			sh.stats.touchMisses++
		} else {
			sh.stats.getMisses++
		}
		return it, dst, false
	}
	if touch {
		sh.stats.touchHits++
		s.m.setU32(r, hdrExptime, s.clock.expiry(exptime))
	} else {
		sh.stats.getHits++
	}
	it = s.itemOf(r)
	s.access(r)
	return it, append(dst, s.m.valueOf(r)...), true
}

// Touch sets a live item's expiry. It reports whether the item was found.
func (s *Store) Touch(key []byte, exptime int64) bool {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	sh.stats.touchCmds++
	r := s.lookup(sh, key, h)
	if r == 0 {
		sh.stats.touchMisses++
		return false
	}
	sh.stats.touchHits++
	s.m.setU32(r, hdrExptime, s.clock.expiry(exptime))
	s.access(r)
	return true
}

// Delete removes a live item. It reports whether there was one.
func (s *Store) Delete(key []byte) bool {
	sh, h := s.lockKey(key)
	defer sh.mu.Unlock()
	r := s.lookup(sh, key, h)
	if r == 0 {
		sh.stats.deleteMisses++
		return false
	}
	sh.stats.deleteHits++
	s.unlink(sh, r, false)
	return true
}

// FlushAll invalidates every item now, or, with a positive delay, at that
// exptime (seconds from now or a unix time), as flush_all does.
func (s *Store) FlushAll(delay int64) {
	if delay > 0 {
		// memcached (with CAS) flushes a second before the time it is given.
		if at := s.clock.expiry(delay) - 1; at > s.clock.Now() {
			s.flushAt.Store(at)
			return
		}
	}
	s.flushAt.Store(0)
	s.flushCAS.Store(s.cas.Add(1))
}

// link puts an allocated chunk in the index and its class's LRU, giving it
// a new CAS. The shard lock is held.
func (s *Store) link(sh *shard, r ref) {
	s.m.setCAS(r, s.cas.Add(1))
	s.m.setU32(r, hdrAtime, s.clock.Now())
	s.m.setU8(r, hdrState, itemLinked)
	sh.insert(s.m, r, s.hashOf(r), s.hash)
	sh.stats.totalItems++
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
