package store

import "sort"

// OpCounters count the commands that took a shard's lock; they are plain
// integers because the lock guards them.
type OpCounters struct {
	GetCmds, GetHits, GetMisses, GetExpired, GetFlushed uint64
	TouchCmds, TouchHits, TouchMisses                   uint64
	SetCmds                                             uint64
	CasMisses, CasHits, CasBadval                       uint64
	IncrMisses, IncrHits, DecrMisses, DecrHits          uint64
	DeleteMisses, DeleteHits                            uint64
	TotalItems                                          uint64
}

func (a *OpCounters) add(b *OpCounters) {
	a.GetCmds += b.GetCmds
	a.GetHits += b.GetHits
	a.GetMisses += b.GetMisses
	a.GetExpired += b.GetExpired
	a.GetFlushed += b.GetFlushed
	a.TouchCmds += b.TouchCmds
	a.TouchHits += b.TouchHits
	a.TouchMisses += b.TouchMisses
	a.SetCmds += b.SetCmds
	a.CasMisses += b.CasMisses
	a.CasHits += b.CasHits
	a.CasBadval += b.CasBadval
	a.IncrMisses += b.IncrMisses
	a.IncrHits += b.IncrHits
	a.DecrMisses += b.DecrMisses
	a.DecrHits += b.DecrHits
	a.DeleteMisses += b.DeleteMisses
	a.DeleteHits += b.DeleteHits
	a.TotalItems += b.TotalItems
}

// ClassCounters are a virtual class's counters, memcached's "stats items".
type ClassCounters struct {
	Evicted          uint64
	EvictedNonzero   uint64
	EvictedUnfetched uint64
	EvictedTime      uint32 // seconds since last access of the last evicted item
	Reclaimed        uint64
	ExpiredUnfetched uint64
	OutOfMemory      uint64
	PagesMoved       uint64 // always 0: segments do not move
	SetCmds          uint64
	Rescues          uint64 // live items merge eviction kept
	EvictionsNomem   uint64 // always 0
	CrawlerReclaimed uint64 // dead items the crawler or segment expiry freed
}

func (a *ClassCounters) add(b *ClassCounters) {
	a.Evicted += b.Evicted
	a.EvictedNonzero += b.EvictedNonzero
	a.EvictedUnfetched += b.EvictedUnfetched
	a.EvictedTime = max(a.EvictedTime, b.EvictedTime)
	a.Reclaimed += b.Reclaimed
	a.ExpiredUnfetched += b.ExpiredUnfetched
	a.OutOfMemory += b.OutOfMemory
	a.PagesMoved += b.PagesMoved
	a.SetCmds += b.SetCmds
	a.Rescues += b.Rescues
	a.EvictionsNomem += b.EvictionsNomem
	a.CrawlerReclaimed += b.CrawlerReclaimed
}

// ClassOps are the commands that found an item of a class, memcached's
// per-class counters of stats slabs.
type ClassOps struct {
	GetHits, CmdSet, DeleteHits, IncrHits, DecrHits, CasHits, CasBadval, TouchHits uint64
}

func (a *ClassOps) add(b *ClassOps) {
	a.GetHits += b.GetHits
	a.CmdSet += b.CmdSet
	a.DeleteHits += b.DeleteHits
	a.IncrHits += b.IncrHits
	a.DecrHits += b.DecrHits
	a.CasHits += b.CasHits
	a.CasBadval += b.CasBadval
	a.TouchHits += b.TouchHits
}

// classCounters are one virtual class's counters in one shard.
type classCounters struct {
	ClassCounters
	ClassOps
	items, bytes int
	peak         int // most items at once: memcached keeps the pages it took
}

// shardCounters are a shard's counters, guarded by its lock.
type shardCounters struct {
	ops     OpCounters
	byClass []classCounters
}

func (c *shardCounters) countItem(class, bytes, delta int) {
	cc := &c.byClass[class]
	cc.items += delta
	cc.bytes += delta * bytes
	cc.peak = max(cc.peak, cc.items)
}

// ops are the counters of r's class in sh; sh.mu is held.
func (s *Store) ops(sh *shard, r loc) *ClassOps { return &sh.byClass[s.classOf(r)].ClassOps }

// counters are the eviction counters of r's class in sh; sh.mu is held.
func (s *Store) counters(sh *shard, r loc) *ClassCounters {
	return &sh.byClass[s.classOf(r)].ClassCounters
}

// countOutOfMemory counts a store refused in class for want of memory. It
// takes no lock: the caller may hold a shard's.
func (s *Store) countOutOfMemory(class int) { s.outOfMemory[class].Add(1) }

// virtualClasses are the chunk sizes memcached would cut its pages into
// with -n minChunk and -f factor: the smallest is its 48-byte header plus
// minChunk, each next one factor times larger, rounded up to 8 bytes, up
// to half a page, and the last one a whole page.
func virtualClasses(minChunk int, factor float64) []int {
	classes := []int{0}
	for size := alignUp(memcachedHeader + minChunk); len(classes) < 255 && size <= segSize/2; {
		classes = append(classes, size)
		next := alignUp(int(float64(size) * factor))
		if next == size {
			next += 8
		}
		size = next
	}
	return append(classes, segSize)
}

const memcachedHeader = 48

func alignUp(n int) int { return (n + 7) &^ 7 }

// classFor is the virtual class of an item of n bytes as memcached counts
// them, the largest for anything larger.
func (s *Store) classFor(n int) int {
	i := sort.SearchInts(s.classes[1:], n) + 1
	return min(i, len(s.classes)-1)
}

// classOf is item r's virtual class.
func (s *Store) classOf(r loc) int {
	return s.classFor(s.m.klen(r) + s.m.vlen(r) + memcachedOverhead)
}

// ClassOf returns the virtual class of an item with a key of klen bytes
// and a value of vlen bytes, 0 if it is too large to store.
func (s *Store) ClassOf(klen, vlen int) int {
	if klen+vlen+memcachedOverhead > s.cfg.MaxItemSize {
		return 0
	}
	return s.classFor(klen + vlen + memcachedOverhead)
}

// Totals are the store's counters summed over shards and classes.
type Totals struct {
	OpCounters
	CurrItems, Bytes                                 int
	Evictions, Reclaimed, ExpiredUnfetched           uint64
	EvictedUnfetched, OutOfMemory, PagesMoved, Pages uint64
	Rescues, EvictionsNomem, CrawlerReclaimed        uint64
	CrawlerChecked                                   uint64
	LimitBytes                                       int64
	TotalMalloced                                    int64
}

// Totals sums the store's counters. Pages are segments in use.
func (s *Store) Totals() Totals {
	var t Totals
	var c ClassCounters
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		t.OpCounters.add(&sh.ops)
		for j := range sh.byClass {
			cc := &sh.byClass[j]
			c.add(&cc.ClassCounters)
			t.CurrItems += cc.items
			t.Bytes += cc.bytes
		}
		sh.mu.Unlock()
	}
	t.Evictions, t.Reclaimed, t.ExpiredUnfetched = c.Evicted, c.Reclaimed, c.ExpiredUnfetched
	t.EvictedUnfetched, t.Rescues, t.CrawlerReclaimed = c.EvictedUnfetched, c.Rescues, c.CrawlerReclaimed
	for i := range s.outOfMemory {
		t.OutOfMemory += s.outOfMemory[i].Load()
	}
	s.segMu.Lock()
	t.Pages = uint64(s.arena.used)
	t.LimitBytes = int64(s.arena.limit) * segSize
	s.segMu.Unlock()
	t.TotalMalloced = int64(t.Pages) * segSize
	t.CrawlerChecked = s.crawler.checked.Load()
	return t
}

// ClassStats is one virtual class as memcached's stats items and stats
// slabs show it: the items memcached would put in chunks of this size, and
// the pages it would take for them.
type ClassStats struct {
	ClassCounters
	ClassOps
	ID            int
	ChunkSize     int    // bytes of a chunk, as memcached sizes it
	ChunksPerPage int    // chunks a page holds
	Pages         int    // pages memcached would have taken for the most items the class held
	Items         int    // linked items
	Bytes         int    // their header, key and value bytes, as shoal stores them
	FreeChunks    int    // chunks of those pages no item uses
	FreeChunksEnd int    // always 0
	Age           uint32 // seconds since the oldest segment was written
}

// Classes is how many virtual classes there are; ids run from 1 to it.
func (s *Store) Classes() int { return len(s.classes) - 1 }

// ClassStats appends every virtual class's statistics to dst, by id.
func (s *Store) ClassStats(dst []ClassStats) []ClassStats {
	all := make([]classCounters, len(s.classes))
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for c := range sh.byClass {
			a, b := &all[c], &sh.byClass[c]
			a.ClassCounters.add(&b.ClassCounters)
			a.ClassOps.add(&b.ClassOps)
			a.items += b.items
			a.bytes += b.bytes
			a.peak += b.peak
		}
		sh.mu.Unlock()
	}
	age := s.oldestAge()
	for id := 1; id < len(s.classes); id++ {
		c := &all[id]
		c.OutOfMemory = s.outOfMemory[id].Load()
		size := s.classes[id]
		per := max(segSize/size, 1)
		pages := (c.peak + per - 1) / per
		dst = append(dst, ClassStats{ClassCounters: c.ClassCounters, ClassOps: c.ClassOps, ID: id,
			ChunkSize: size, ChunksPerPage: per, Pages: pages, Items: c.items, Bytes: c.bytes,
			FreeChunks: pages*per - c.items, Age: age})
	}
	return dst
}

// oldestAge is the seconds since the oldest segment in use was taken.
func (s *Store) oldestAge() uint32 {
	now := s.clock.Now()
	s.segMu.Lock()
	defer s.segMu.Unlock()
	var oldest uint32
	for i := range s.buckets {
		if h := s.buckets[i].head; h != 0 {
			if a := now - s.arena.segs[h].created; a > oldest {
				oldest = a
			}
		}
	}
	return oldest
}

// ResetStats zeroes the counters memcached's stats reset resets: the
// command counters and the classes' eviction counters.
func (s *Store) ResetStats() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.ops = OpCounters{}
		for c := range sh.byClass {
			cc := &sh.byClass[c]
			cc.ClassCounters, cc.ClassOps = ClassCounters{}, ClassOps{}
		}
		sh.mu.Unlock()
	}
	for i := range s.outOfMemory {
		s.outOfMemory[i].Store(0)
	}
}

// PageSize is memcached's slab_page_size, and the size of a segment.
const PageSize = segSize

// SetMemoryLimit changes the item memory limit (cache_memlimit). Segments
// above a lowered limit stay in use until evictions free them; no new ones
// are taken.
func (s *Store) SetMemoryLimit(bytes int64) bool {
	segs := int(bytes / segSize)
	s.segMu.Lock()
	defer s.segMu.Unlock()
	if segs < 1 || segs >= len(s.arena.segs)-1 {
		return false
	}
	s.arena.limit = segs
	return true
}
