package slab

import (
	"sort"
	"sync"
)

// chunkAlign keeps every chunk, and so every header field, 8-byte aligned.
const chunkAlign = 8

// slabClass hands out chunks of one size. Its lock guards its free list,
// carving position, page list and LRU list.
type slabClass struct {
	mu      sync.Mutex
	id      int
	size    int // chunk size
	perPage int

	pages     []int // arena pages this class owns, oldest first
	free      ref   // free list through hdrHnext
	nfree     int
	carvePage int // page being cut into chunks, 0 when none
	carveNext int // index of the next uncut chunk in carvePage
	moving    int // page being emptied for another class, 0 when none

	lru lruList

	stats ClassCounters
	_     [64]byte // keep neighbouring classes' locks off one cache line
}

// ClassCounters are a class's counters, memcached's "stats items".
type ClassCounters struct {
	Evicted          uint64
	EvictedNonzero   uint64
	EvictedUnfetched uint64
	EvictedTime      uint32 // seconds since last access of the last evicted item
	Reclaimed        uint64
	ExpiredUnfetched uint64
	OutOfMemory      uint64
	PagesMoved       uint64
	SetCmds          uint64
	Rescues          uint64 // live items copied off a moving page
	EvictionsNomem   uint64 // live items evicted off a moving page
	CrawlerReclaimed uint64 // dead items the crawler freed
}

// slabs is the page allocator and the table of classes.
type slabs struct {
	arena   *arena
	m       items
	classes []*slabClass // classes[0] is unused, as in memcached

	pageMu     sync.Mutex
	nextPage   int // next never-used arena page; page 0 is reserved
	limitPages int
	pageClass  []uint8
}

// memcachedItemHeader is the size of memcached's item header on a 64-bit
// build; its smallest chunk is this plus -n.
const memcachedItemHeader = 48

// newSlabs builds the chunk classes exactly as memcached sizes them: the
// smallest is memcached's 48-byte header plus minSize, each next one factor
// times larger, rounded up to 8 bytes, and the last one a whole page. With
// memcached's classes and a smaller item (a 40-byte header, no CAS field,
// no trailing CRLF or NUL), an item never takes a larger chunk here than in
// memcached.
func newSlabs(a *arena, limitPages, minSize int, factor float64) *slabs {
	s := &slabs{arena: a, m: items(a.mem), nextPage: 1, limitPages: limitPages,
		pageClass: make([]uint8, a.pages())}
	s.classes = append(s.classes, nil)
	for size := alignUp(memcachedItemHeader + minSize); len(s.classes) < 255 && size <= a.pageSize/2; {
		s.addClass(size)
		next := alignUp(int(float64(size) * factor))
		if next == size {
			next += chunkAlign
		}
		size = next
	}
	s.addClass(a.pageSize)
	return s
}

func (s *slabs) addClass(size int) {
	c := &slabClass{id: len(s.classes), size: size, perPage: s.arena.pageSize / size}
	s.classes = append(s.classes, c)
}

func alignUp(n int) int { return (n + chunkAlign - 1) &^ (chunkAlign - 1) }

// classFor is the smallest class whose chunks hold n bytes, or nil when none
// does.
func (s *slabs) classFor(n int) *slabClass {
	i := sort.Search(len(s.classes)-1, func(i int) bool { return s.classes[i+1].size >= n })
	if i == len(s.classes)-1 {
		return nil
	}
	return s.classes[i+1]
}

// take returns a chunk from c's free list or uncut page, or 0. c.mu is held.
func (s *slabs) take(c *slabClass) ref {
	if r := c.free; r != 0 {
		c.free = s.m.ref(r, hdrHnext)
		c.nfree--
		return r
	}
	if c.carvePage != 0 {
		r := refOf(c.carvePage*s.arena.pageSize + c.carveNext*c.size)
		c.carveNext++
		if c.carveNext == c.perPage {
			c.carvePage, c.carveNext = 0, 0
		}
		return r
	}
	return 0
}

// release puts a chunk back on c's free list, unless its page is being
// emptied: that page's chunks must not be handed out again. c.mu is held.
func (s *slabs) release(c *slabClass, r ref) {
	s.m.setU8(r, hdrState, itemFree)
	if c.moving != 0 && s.pageOf(r) == c.moving {
		return
	}
	s.m.setRef(r, hdrHnext, c.free)
	c.free = r
	c.nfree++
}

// grow gives c a new page if the memory limit allows. c.mu is held.
func (s *slabs) grow(c *slabClass) bool {
	s.pageMu.Lock()
	if s.nextPage-1 >= s.limitPages || s.nextPage >= s.arena.pages() {
		s.pageMu.Unlock()
		return false
	}
	p := s.nextPage
	s.nextPage++
	s.pageMu.Unlock()
	s.givePage(c, p)
	return true
}

// givePage makes page p c's page to cut. A page c was still cutting is cut
// up into the free list first: its uncut chunks hold whatever the page held
// before, and only the carve position tells them from chunks in use. c.mu
// is held.
func (s *slabs) givePage(c *slabClass, p int) {
	s.cutRest(c)
	c.pages = append(c.pages, p)
	c.carvePage, c.carveNext = p, 0
	s.pageMu.Lock()
	s.pageClass[p] = uint8(c.id)
	s.pageMu.Unlock()
}

// cutRest puts the uncut chunks of c's carve page on its free list. c.mu is
// held.
func (s *slabs) cutRest(c *slabClass) {
	if c.carvePage == 0 {
		return
	}
	base := c.carvePage * s.arena.pageSize
	for i := c.carveNext; i < c.perPage; i++ {
		s.release(c, refOf(base+i*c.size))
	}
	c.carvePage, c.carveNext = 0, 0
}

// pageOf is the arena page a chunk is on.
func (s *slabs) pageOf(r ref) int { return r.off() / s.arena.pageSize }

// classOfPage is the class that owns page p, or nil for a page never used.
func (s *slabs) classOfPage(p int) *slabClass {
	s.pageMu.Lock()
	id := s.pageClass[p]
	s.pageMu.Unlock()
	if id == 0 {
		return nil
	}
	return s.classes[id]
}

// usedPages is how many arena pages have been handed to classes.
func (s *slabs) usedPages() int {
	s.pageMu.Lock()
	defer s.pageMu.Unlock()
	return s.nextPage - 1
}

// chunksCut is how many chunks of page p (owned by c) have been handed out
// at least once. c.mu is held.
func (c *slabClass) chunksCut(p int) int {
	if p == c.carvePage {
		return c.carveNext
	}
	return c.perPage
}

func (s *slabs) setLimit(pages int) {
	s.pageMu.Lock()
	s.limitPages = pages
	s.pageMu.Unlock()
}

// ClassOf returns the slab class id an item with a key of klen bytes and a
// value of vlen bytes is stored in, 0 if it is too large for any.
func (st *Store) ClassOf(klen, vlen int) int {
	if c := st.slabs.classFor(itemSize(klen, vlen)); c != nil {
		return c.id
	}
	return 0
}
