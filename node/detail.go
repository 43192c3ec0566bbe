package node

import (
	"github.com/shoal-cache/shoal/protocol"
	"strconv"
	"sync"
	"sync/atomic"
)

// detail is memcached's `stats detail`: gets, hits, sets and deletes
// counted per key prefix (the part of a key before -D's delimiter, ':' by
// default), while turned on (`stats detail on`, or -D at start).
//
// memcached grows its prefix table without bound; a client choosing keys
// chooses the table's size, so shoal stops adding prefixes at
// maxDetailPrefixes and counts the keys it could not place.
type detail struct {
	on        atomic.Bool
	delimiter byte

	mu       sync.Mutex
	prefixes map[string]*prefixStats
	order    []string // first seen first, as the dump lists them
	dropped  uint64   // keys whose new prefix found the table full
}

const maxDetailPrefixes = 4096

type prefixStats struct{ gets, hits, sets, deletes uint64 }

// prefixOf returns key's prefix, or false for a key without the delimiter,
// which memcached does not count.
func (d *detail) prefixOf(key []byte) ([]byte, bool) {
	for i, ch := range key {
		if ch == d.delimiter {
			return key[:i], true
		}
	}
	return nil, false
}

// stats returns the counters of key's prefix, nil if key has none or the
// table is full. Called with mu held.
func (d *detail) statsLocked(key []byte) *prefixStats {
	p, ok := d.prefixOf(key)
	if !ok {
		return nil
	}
	if ps := d.prefixes[string(p)]; ps != nil { // no allocation: the compiler looks up without converting
		return ps
	}
	if len(d.prefixes) >= maxDetailPrefixes {
		d.dropped++
		return nil
	}
	if d.prefixes == nil {
		d.prefixes = make(map[string]*prefixStats)
	}
	ps := &prefixStats{}
	d.prefixes[string(p)] = ps
	d.order = append(d.order, string(p))
	return ps
}

func (d *detail) record(key []byte, f func(*prefixStats)) {
	d.mu.Lock()
	if ps := d.statsLocked(key); ps != nil {
		f(ps)
	}
	d.mu.Unlock()
}

func (d *detail) get(key []byte, hit bool) {
	d.record(key, func(ps *prefixStats) {
		ps.gets++
		if hit {
			ps.hits++
		}
	})
}

func (d *detail) set(key []byte)    { d.record(key, func(ps *prefixStats) { ps.sets++ }) }
func (d *detail) delete(key []byte) { d.record(key, func(ps *prefixStats) { ps.deletes++ }) }

// appendDump appends memcached's dump: a PREFIX line per prefix, then END.
func (d *detail) appendDump(b []byte) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.order {
		ps := d.prefixes[p]
		b = append(b, "PREFIX "...)
		b = append(b, p...)
		b = append(b, " get "...)
		b = strconv.AppendUint(b, ps.gets, 10)
		b = append(b, " hit "...)
		b = strconv.AppendUint(b, ps.hits, 10)
		b = append(b, " set "...)
		b = strconv.AppendUint(b, ps.sets, 10)
		b = append(b, " del "...)
		b = strconv.AppendUint(b, ps.deletes, 10)
		b = append(b, "\r\n"...)
	}
	return append(b, "END\r\n"...)
}

// reset forgets every prefix, as `stats reset` does in memcached.
func (d *detail) reset() {
	d.mu.Lock()
	d.prefixes, d.order, d.dropped = nil, nil, 0
	d.mu.Unlock()
}

// statsDetail serves `stats detail on|off|dump`.
func (c *conn) statsDetail(tokens [][]byte) {
	arg := ""
	if len(tokens) >= 3 {
		arg = string(tokens[2])
	}
	switch arg {
	case "on":
		c.s.detail.on.Store(true)
		c.write(protocol.RespOK)
	case "off":
		c.s.detail.on.Store(false)
		c.write(protocol.RespOK)
	case "dump":
		c.scratch = c.s.detail.appendDump(c.scratch[:0])
		c.write(c.scratch)
	default:
		c.write([]byte("CLIENT_ERROR usage: stats detail on|off|dump\r\n"))
	}
}
