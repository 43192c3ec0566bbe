package node

import (
	"strconv"
	"strings"

	"github.com/shoal-cache/shoal/node/internal/store"
	"github.com/shoal-cache/shoal/protocol"
)

// stats cachedump and lru_crawler metadump, answered as memcached 1.6
// answers them, in its words.

const (
	// cachedumpMax bounds a cachedump reply, END included, as memcached's
	// 2 MB buffer does.
	cachedumpMax = 2 << 20
	// memcachedClasses is memcached's MAX_NUMBER_OF_SLAB_CLASSES: class ids
	// below it are legal even where no such class exists.
	memcachedClasses = 64
)

// cachedump serves stats cachedump CLASS LIMIT.
func (c *conn) cachedump(tokens [][]byte) {
	if c.s.cfg.DisableDumping {
		c.write([]byte("CLIENT_ERROR stats cachedump not allowed\r\n"))
		return
	}
	if len(tokens) < 4 {
		c.write([]byte("CLIENT_ERROR bad command line\r\n"))
		return
	}
	id, okID := protocol.ParseUint32(tokens[2])
	limit, okLimit := protocol.ParseUint32(tokens[3])
	if !okID || !okLimit {
		c.write([]byte("CLIENT_ERROR bad command line format\r\n"))
		return
	}
	st := c.withStore()
	if st == nil {
		return
	}
	if int64(id) >= int64(max(memcachedClasses, st.Classes()+1)) {
		c.write([]byte("CLIENT_ERROR Illegal slab id\r\n"))
		return
	}
	b := st.AppendCachedump(nil, int(id), int(limit), cachedumpMax-len(protocol.RespEnd)-1)
	c.write(append(b, protocol.RespEnd...))
}

// lruCrawler serves lru_crawler metadump all|hash|CLASS[,CLASS...]: a
// line per live item, streamed as the arena is walked. memcached walks the
// LRU lists (or, for hash, its hash table); shoal walks the arena for all
// three, so lines come in another order. Unlike memcached it answers
// commands pipelined around a metadump.
func (c *conn) lruCrawler(tokens [][]byte) {
	if len(tokens) != 3 || string(tokens[1]) != "metadump" {
		c.write(protocol.RespError)
		return
	}
	switch {
	case c.s.cfg.NoLRUCrawler:
		c.write([]byte("CLIENT_ERROR lru crawler disabled\r\n"))
		return
	case c.s.cfg.DisableDumping:
		c.write([]byte("ERROR metadump not allowed\r\n"))
		return
	}
	st := c.withStore()
	if st == nil {
		return
	}
	want, ok := metadumpClasses(string(tokens[2]), st.Classes())
	if !ok {
		c.write([]byte("BADCLASS invalid class id\r\n"))
		return
	}
	var line []byte
	st.EachItem(want, func(it store.ItemMeta) bool {
		line = appendMetadump(line[:0], it)
		_, err := c.w.Write(line)
		return err == nil // the client went away: stop walking
	})
	c.write(protocol.RespEnd)
}

// metadumpClasses reads memcached's class list: "all" or "hash" (nil:
// every class), or ids separated by commas, each from 1 to below
// memcached's limit or shoal's class count.
func metadumpClasses(list string, classes int) ([]bool, bool) {
	if list == "all" || list == "hash" {
		return nil, true
	}
	want := make([]bool, classes+1)
	limit := max(memcachedClasses, classes+1)
	for len(list) > 0 {
		var id string
		id, list, _ = strings.Cut(list, ",")
		n, ok := protocol.ParseUint32([]byte(id))
		if !ok || n < 1 || int64(n) >= int64(limit) {
			return nil, false
		}
		if int(n) <= classes {
			want[n] = true
		}
	}
	return want, true
}

// appendMetadump appends memcached's metadump line for it.
func appendMetadump(b []byte, it store.ItemMeta) []byte {
	exp := int64(-1)
	if it.Exptime != 0 {
		exp = it.Exptime
	}
	fetch := "no"
	if it.Fetched {
		fetch = "yes"
	}
	b = protocol.AppendURIEncoded(append(b, "key="...), it.Key)
	b = strconv.AppendInt(append(b, " exp="...), exp, 10)
	b = strconv.AppendInt(append(b, " la="...), it.Atime, 10)
	b = strconv.AppendUint(append(b, " cas="...), it.CAS, 10)
	b = append(append(b, " fetch="...), fetch...)
	b = strconv.AppendInt(append(b, " cls="...), int64(it.Class), 10)
	b = strconv.AppendInt(append(b, " size="...), int64(it.Size), 10)
	return append(b, '\n')
}
