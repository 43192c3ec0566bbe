package slab

import (
	"strconv"
)

// The item listings of memcached's stats cachedump and lru_crawler
// metadump, which tools such as memcdump and memcached-tool use to walk a
// cache's keys.

// ItemMeta is what a listing shows of an item.
type ItemMeta struct {
	Key     []byte // valid only during the callback it is passed to
	Exptime int64  // unix second it expires at; 0 never
	Atime   int64  // unix second of its last access
	CAS     uint64
	Fetched bool
	Class   int
	Size    int // bytes of chunk used: header, key and value
}

// AppendCachedump appends memcached's stats cachedump lines for class id:
// "ITEM key [N b; T s]" (value bytes, unix expiry or 0) for up to limit
// items (0: every one), most recently linked first, skipping binary keys,
// and stopping before the lines pass max bytes. Like memcached it holds the
// class's lock while it walks the list (which max bounds) and lists what is
// linked, expired or not.
func (s *Store) AppendCachedump(dst []byte, id, limit, max int) []byte {
	if id < 1 || id > s.Classes() {
		return dst
	}
	c := s.slabs.classes[id]
	c.mu.Lock()
	defer c.mu.Unlock()
	start := len(dst)
	for r, shown := c.lru.head, 0; r != 0 && (limit == 0 || shown < limit); r = s.m.ref(r, hdrNext) {
		if s.m.hasBit(r, bitKeyBinary) {
			continue
		}
		line := append([]byte("ITEM "), s.m.keyOf(r)...)
		line = append(append(line, " ["...), strconv.Itoa(s.m.vlen(r))...)
		line = append(append(line, " b; "...), strconv.FormatInt(s.unixOrZero(s.m.u32(r, hdrExptime)), 10)...)
		line = append(line, " s]\r\n"...)
		if len(dst)-start+len(line) > max {
			break
		}
		dst = append(dst, line...)
		shown++
	}
	return dst
}

func (s *Store) unixOrZero(t uint32) int64 {
	if t == 0 {
		return 0
	}
	return s.clock.Unix(t)
}

// EachItem calls fn with every live item of the classes in want (all when
// nil), walking the arena page by page as the crawler does, so that the
// walk needs no memory however large the cache. Each item is read under
// its shard's lock, and fn is called with no lock held: it may block, say
// on a slow client, without holding up requests. Items stored or deleted
// during the walk may or may not be seen. fn returns false to stop.
func (s *Store) EachItem(want []bool, fn func(ItemMeta) bool) {
	var key []byte
	stop := false
	visit := func(c *slabClass, r ref) {
		if stop || want != nil && !want[c.id] {
			return
		}
		it, ok := s.itemMeta(c, r, key[:0])
		if ok {
			key = it.Key
			stop = !fn(it)
		}
	}
	for p := 1; p <= s.slabs.usedPages() && !stop; p++ {
		s.eachLinked(p, 0, s.arena.pageSize, visit)
	}
}

// itemMeta reads r's listing, its key copied into key, if r still holds a
// live item.
func (s *Store) itemMeta(c *slabClass, r ref, key []byte) (ItemMeta, bool) {
	i, ok := s.lockLinked(c, r, holdingNothing, true)
	if !ok {
		return ItemMeta{}, false
	}
	defer s.shards[i].mu.Unlock()
	if !s.live(r) {
		return ItemMeta{}, false
	}
	it := s.itemOf(r)
	return ItemMeta{Key: append(key, s.m.keyOf(r)...), Exptime: s.unixOrZero(it.Exptime), Atime: s.clock.Unix(it.Atime),
		CAS: it.CAS, Fetched: it.Fetched, Class: it.Class, Size: it.Size}, true
}
