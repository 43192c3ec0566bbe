package slab

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

// Totals sums the store's counters.
func (s *Store) Totals() Totals {
	var t Totals
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		t.OpCounters.add(&sh.stats)
		sh.mu.Unlock()
	}
	for _, c := range s.slabs.classes[1:] {
		c.mu.Lock()
		t.CurrItems += c.lru.items
		t.Bytes += c.lru.bytes
		t.Evictions += c.stats.Evicted
		t.Reclaimed += c.stats.Reclaimed
		t.ExpiredUnfetched += c.stats.ExpiredUnfetched
		t.EvictedUnfetched += c.stats.EvictedUnfetched
		t.OutOfMemory += c.stats.OutOfMemory
		t.PagesMoved += c.stats.PagesMoved
		t.Rescues += c.stats.Rescues
		t.EvictionsNomem += c.stats.EvictionsNomem
		t.CrawlerReclaimed += c.stats.CrawlerReclaimed
		c.mu.Unlock()
	}
	s.slabs.pageMu.Lock()
	t.Pages = uint64(s.slabs.nextPage - 1)
	t.LimitBytes = int64(s.slabs.limitPages) * int64(s.arena.pageSize)
	s.slabs.pageMu.Unlock()
	t.TotalMalloced = int64(t.Pages) * int64(s.arena.pageSize)
	t.CrawlerChecked = s.crawler.checked.Load()
	return t
}

// ClassStats is one chunk class as memcached's stats items and stats slabs
// show it.
type ClassStats struct {
	ClassCounters
	ClassOps
	ID            int
	ChunkSize     int    // bytes of a chunk: header, key and value
	ChunksPerPage int    // chunks a page holds
	Pages         int    // pages the class owns
	Items         int    // linked items
	Bytes         int    // their header, key and value bytes
	FreeChunks    int    // chunks on the free list
	FreeChunksEnd int    // chunks of the page being cut not yet cut
	Age           uint32 // seconds since the least recently used item's last access
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

// ops are the counters of r's class in sh; sh.mu is held.
func (s *Store) ops(sh *shard, r ref) *ClassOps { return &sh.byClass[s.m.class(r)] }

// Classes is how many chunk classes there are; ids run from 1 to it.
func (s *Store) Classes() int { return len(s.slabs.classes) - 1 }

// ClassStats appends every class's statistics to dst, by id.
func (s *Store) ClassStats(dst []ClassStats) []ClassStats {
	now := s.clock.Now()
	ops := make([]ClassOps, len(s.slabs.classes))
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for c := range sh.byClass {
			ops[c].add(&sh.byClass[c])
		}
		sh.mu.Unlock()
	}
	for _, c := range s.slabs.classes[1:] {
		c.mu.Lock()
		cs := ClassStats{ClassCounters: c.stats, ClassOps: ops[c.id], ID: c.id, ChunkSize: c.size, ChunksPerPage: c.perPage,
			Pages: len(c.pages), Items: c.lru.items, Bytes: c.lru.bytes, FreeChunks: c.nfree,
			Age: s.tailAge(c, now)}
		if c.carvePage != 0 {
			cs.FreeChunksEnd = c.perPage - c.carveNext
		}
		c.mu.Unlock()
		dst = append(dst, cs)
	}
	return dst
}

// ResetStats zeroes the counters memcached's stats reset resets: the
// command counters and the classes' eviction counters.
func (s *Store) ResetStats() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.stats = OpCounters{}
		clear(sh.byClass)
		sh.mu.Unlock()
	}
	for _, c := range s.slabs.classes[1:] {
		c.mu.Lock()
		c.stats = ClassCounters{}
		c.mu.Unlock()
	}
}

// PageSize is the size of a slab page, memcached's slab_page_size; items
// larger than a page get pages of their own size.
const PageSize = pageSize

// SetMemoryLimit changes the item memory limit (cache_memlimit). Pages
// above a lowered limit stay in use; no new ones are taken.
func (s *Store) SetMemoryLimit(bytes int64) bool {
	pages := int(bytes / int64(s.arena.pageSize))
	if pages < 1 || pages >= s.arena.pages() {
		return false
	}
	s.slabs.setLimit(pages)
	return true
}
