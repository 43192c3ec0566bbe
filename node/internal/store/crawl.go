package store

import (
	"sync"
	"sync/atomic"
)

// The crawler frees dead items in the background, as memcached's LRU
// crawler does, so that curr_items and bytes fall when items die, not only
// when something reads them or their segment goes: whole expired segments
// go at once (expire.go), but an item flushed, or touched to expire sooner,
// dies alone. It walks the chained segments, a bounded number of items a
// second, from where it stopped the second before.

// crawlBudget is how many items the crawler looks at each second.
const crawlBudget = 20000

// crawler is where the walk stands.
type crawler struct {
	mu      sync.Mutex // the tick goroutine crawls; so may tests
	next    int32      // segment id to look at next
	checked atomic.Uint64
}

// crawl looks at the items of segments until budget items are seen.
func (s *Store) crawl(budget int) {
	cr := &s.crawler
	cr.mu.Lock()
	defer cr.mu.Unlock()
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	s.segMu.Lock()
	high := s.arena.high
	s.segMu.Unlock()
	for seen := int32(0); budget > 0 && seen < high; seen++ {
		if cr.next < 1 || cr.next >= high {
			cr.next = 1
		}
		id := cr.next
		cr.next++
		if _, ok := s.chained(id); !ok {
			continue
		}
		s.walk(id, holdingNothing, func(sh *shard, r loc, _ uint64, i int) bool {
			budget--
			cr.checked.Add(1)
			if !s.live(r) {
				s.counters(sh, r).CrawlerReclaimed++
				s.unindex(sh, r, i)
			}
			return true
		})
	}
}
