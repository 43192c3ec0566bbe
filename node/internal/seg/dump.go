package seg

import (
	"slices"
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
	Size    int // bytes memcached's item would take: header, key and value
}

// AppendCachedump appends memcached's stats cachedump lines for virtual
// class id: "ITEM key [N b; T s]" (value bytes, unix expiry or 0) for up
// to limit items (0: every one), most recently written first, skipping
// binary keys, and stopping before the lines pass max bytes. Like
// memcached it lists what is indexed, expired or not.
func (s *Store) AppendCachedump(dst []byte, id, limit, max int) []byte {
	if id < 1 || id > s.Classes() {
		return dst
	}
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	s.segMu.Lock()
	segs := s.chained()
	s.segMu.Unlock()
	start, shown := len(dst), 0
	var lines [][]byte
	for _, sid := range segs {
		lines = lines[:0]
		s.walk(sid, holdingNothing, func(_ *shard, r loc, _ uint64, _ int) bool {
			if s.classOf(r) == id && !s.m.hasBit(r, bitKeyBinary) {
				line := append([]byte("ITEM "), s.m.keyOf(r)...)
				line = append(append(line, " ["...), strconv.Itoa(s.m.vlen(r))...)
				line = append(append(line, " b; "...), strconv.FormatInt(s.unixOrZero(s.m.exptime(r)), 10)...)
				lines = append(lines, append(line, " s]\r\n"...))
			}
			return true
		})
		slices.Reverse(lines) // a segment's newest item is its last
		for _, line := range lines {
			if limit != 0 && shown >= limit || len(dst)-start+len(line) > max {
				return dst
			}
			dst = append(dst, line...)
			shown++
		}
	}
	return dst
}

func (s *Store) unixOrZero(t uint32) int64 {
	if t == 0 {
		return 0
	}
	return s.clock.Unix(t)
}

// EachItem calls fn with every live item of the virtual classes in want
// (all when nil), segment by segment, so that the walk needs no more
// memory than a segment's listing however large the cache. Each item is
// read under its shard's lock, and fn is called with no lock held: it may
// block, say on a slow client, without holding up requests. Items stored
// or deleted during the walk may or may not be seen. fn returns false to
// stop.
func (s *Store) EachItem(want []bool, fn func(ItemMeta) bool) {
	s.segMu.Lock()
	high := s.arena.high
	s.segMu.Unlock()
	var metas []ItemMeta
	var keys []byte
	for id := int32(1); id < high; id++ {
		metas, keys = s.listSegment(id, want, metas[:0], keys[:0])
		for _, it := range metas {
			if !fn(it) {
				return
			}
		}
	}
}

// listSegment appends the listings of segment id's live items of the
// classes in want, their keys in keys.
func (s *Store) listSegment(id int32, want []bool, metas []ItemMeta, keys []byte) ([]ItemMeta, []byte) {
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	s.segMu.Lock()
	inUse := s.arena.segs[id].bucket >= 0 && !s.arena.isFree(id)
	s.segMu.Unlock()
	if !inUse {
		return metas, keys
	}
	s.walk(id, holdingNothing, func(_ *shard, r loc, _ uint64, _ int) bool {
		it := s.itemOf(r)
		if !s.live(r) || want != nil && !want[it.Class] {
			return true
		}
		k := len(keys)
		keys = append(keys, s.m.keyOf(r)...)
		metas = append(metas, ItemMeta{Key: keys[k:len(keys):len(keys)], Exptime: s.unixOrZero(it.Exptime),
			Atime: s.clock.Unix(it.Atime), CAS: it.CAS, Fetched: it.Fetched, Class: it.Class, Size: it.Size})
		return true
	})
	return metas, keys
}
