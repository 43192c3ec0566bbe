package store

import (
	"cmp"
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
// to limit items (0: every one), most recently stored first (by CAS, which
// grows with every store), skipping binary keys, and stopping before the
// lines pass max bytes. Like memcached it lists what is indexed, expired
// or not. It keeps only the lines that can be shown: max bytes of them.
func (s *Store) AppendCachedump(dst []byte, id, limit, max int) []byte {
	if id < 1 || id > s.Classes() {
		return dst
	}
	keep := max / len("ITEM x [0 b; 0 s]\r\n")
	if limit > 0 {
		keep = min(keep, limit)
	}
	var lines []dumpLine
	s.evictMu.Lock()
	s.segMu.Lock()
	high := s.arena.high
	s.segMu.Unlock()
	for sid := int32(1); sid < high; sid++ {
		if _, ok := s.chained(sid); !ok {
			continue
		}
		s.walk(sid, holdingNothing, func(_ *shard, r loc, _ uint64, _ int) bool {
			if s.classOf(r) == id && !s.m.hasBit(r, bitKeyBinary) {
				line := append([]byte("ITEM "), s.m.keyOf(r)...)
				line = append(append(line, " ["...), strconv.Itoa(s.m.vlen(r))...)
				line = append(append(line, " b; "...), strconv.FormatInt(s.unixOrZero(s.m.exptime(r)), 10)...)
				lines = append(lines, dumpLine{s.m.cas(r), append(line, " s]\r\n"...)})
				if len(lines) >= 2*keep+64 {
					lines = newestLines(lines, keep)
				}
			}
			return true
		})
	}
	s.evictMu.Unlock()
	start := len(dst)
	for _, l := range newestLines(lines, keep) {
		if len(dst)-start+len(l.text) > max {
			break
		}
		dst = append(dst, l.text...)
	}
	return dst
}

type dumpLine struct {
	cas  uint64
	text []byte
}

// newestLines sorts lines newest first and keeps n of them.
func newestLines(lines []dumpLine, n int) []dumpLine {
	slices.SortFunc(lines, func(a, b dumpLine) int { return cmp.Compare(b.cas, a.cas) })
	return lines[:min(n, len(lines))]
}

func (s *Store) unixOrZero(t uint32) int64 {
	if t == 0 {
		return 0
	}
	return s.clock.Unix(t)
}

// EachItem calls fn with every live item of the virtual classes in want
// (all when nil), segment by segment, a bounded batch at a time, so that
// the walk needs little memory however large the cache. Each item is read
// under its shard's lock, and fn is called with no lock held: it may
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
		gen, from := uint32(0), 0
		for from >= 0 {
			metas, keys = metas[:0], keys[:0]
			gen, from, metas, keys = s.listSegment(id, gen, from, want, metas, keys)
			for _, it := range metas {
				if !fn(it) {
					return
				}
			}
		}
	}
}

// listBatch is how many items EachItem lists at a time.
const listBatch = 256

// listSegment appends the listings of up to listBatch live items of the
// classes in want, their keys in keys, from byte from of segment id, which
// must still be the segment of generation gen (0: the first batch). It
// returns the generation, and where to go on from (-1: the end).
func (s *Store) listSegment(id int32, gen uint32, from int, want []bool, metas []ItemMeta, keys []byte) (uint32, int, []ItemMeta, []byte) {
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	now, ok := s.chained(id)
	if !ok || gen != 0 && now != gen {
		return now, -1, metas, keys
	}
	gen = now
	from, _ = s.walkFrom(id, from, listBatch, holdingNothing, func(_ *shard, r loc, _ uint64, _ int) bool {
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
	return gen, from, metas, keys
}
