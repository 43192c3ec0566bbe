package slab

import (
	"sync"
	"sync/atomic"
)

// The crawler frees expired and flushed items in the background, as
// memcached's LRU crawler does, so that curr_items and bytes fall when items
// die, not only when something reads or evicts them, and their chunks are
// free before an allocation would have to evict a live item. It walks the
// arena page by page, a bounded number of chunks a second, from where it
// stopped the second before; it locks only the shards of the dead items it
// finds, and only try-locks them, so it never waits behind a request.

// crawlBudget is how many chunks the crawler looks at each second: at about
// 20 ns a chunk, well under 1% of a core, and a million items a minute.
const crawlBudget = 20000

// crawler is where the walk stands.
type crawler struct {
	mu          sync.Mutex // the tick goroutine crawls; so may tests
	page, chunk int
	checked     atomic.Uint64 // items looked at (crawler_items_checked)
}

// crawl looks at up to budget chunks, freeing the dead items among them.
func (s *Store) crawl(budget int) {
	cr := &s.crawler
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for pages := s.slabs.usedPages(); budget > 0 && pages >= 0; pages-- {
		if cr.page < 1 || cr.page > s.slabs.usedPages() {
			cr.page, cr.chunk = 1, 0
		}
		n, done := s.crawlPage(cr.page, cr.chunk, budget)
		budget -= n
		cr.chunk += n
		if done {
			cr.page, cr.chunk = cr.page+1, 0
		}
	}
}

// crawlPage looks at up to budget chunks of page p from chunk first,
// returning how many it looked at and whether it reached the page's end.
func (s *Store) crawlPage(p, first, budget int) (int, bool) {
	return s.eachLinked(p, first, budget, func(c *slabClass, r ref) {
		s.crawler.checked.Add(1)
		if !s.live(r) {
			s.reclaimDead(c, r)
		}
	})
}

// eachLinked calls visit, with no lock held, for each chunk that seems to
// hold an item among up to budget chunks of page p from chunk first; it
// returns how many chunks it looked at and whether it reached the page's
// end. The page may change class meanwhile: visit may touch the chunk only
// once its shard's lock shows it holds an item (lockLinked). c is the class
// the page belonged to when the walk read it.
func (s *Store) eachLinked(p, first, budget int, visit func(c *slabClass, r ref)) (int, bool) {
	c := s.slabs.classOfPage(p)
	if c == nil {
		return 0, true
	}
	c.mu.Lock()
	cut := c.chunksCut(p)
	size := c.size
	c.mu.Unlock()
	base := p * s.arena.pageSize
	n := 0
	for i := first; i < cut && n < budget; i++ {
		n++
		if r := refOf(base + i*size); s.m.u8(r, hdrState) == itemLinked {
			visit(c, r)
		}
	}
	return n, first+n >= cut
}

// reclaimDead frees r if it still holds a dead item. c is the class r's
// page belonged to when the crawler read it.
func (s *Store) reclaimDead(c *slabClass, r ref) {
	i, ok := s.lockLinked(c, r, holdingNothing, false)
	if !ok {
		return
	}
	sh := &s.shards[i]
	if !s.live(r) {
		owner := s.slabs.classes[s.m.class(r)]
		owner.mu.Lock()
		owner.stats.CrawlerReclaimed++
		s.unlink(sh, r, true)
		owner.mu.Unlock()
	}
	sh.mu.Unlock()
}
