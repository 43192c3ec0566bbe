package node

import (
	"errors"
	"strconv"
	"time"

	"github.com/shoal-cache/shoal/internal/latency"
	"github.com/shoal-cache/shoal/node/internal/store"
	"github.com/shoal-cache/shoal/protocol"
)

// The request path's one observer: the protocol handlers report what they
// do through these methods, per request (latency by command family and hot
// keys, introspect.go) and per key (stats detail, watch). Each costs an
// atomic load or two unless something is recording or watching.

// request is a command being served, as the observers see it.
type request struct {
	f     latency.Family
	start time.Duration
}

// observeText reports a text command about to run. Its keys are offered
// to the hot key tracker now, as a long get reuses the tokens and the line;
// it is timed from here to observeDone.
func (c *conn) observeText(tokens [][]byte, rest []byte) request {
	f := textFamily(tokens[0])
	c.sampleText(f, tokens, rest)
	return request{f, c.s.intro.lat.Start()}
}

// observeBinary reports a binary request about to run.
func (c *conn) observeBinary(req *binRequest) request {
	f, read := binaryFamily(req.op)
	c.sampleBinary(f, read, req.key)
	return request{f, c.s.intro.lat.Start()}
}

// observeDone reports r's reply buffered.
func (c *conn) observeDone(r request) { c.s.intro.lat.Done(c.id, r.f, r.start) }

// observeGet reports a read of key, found or not, with its value's size.
func (c *conn) observeGet(key []byte, found bool, size int) {
	s := c.s
	if s.detail.on.Load() {
		s.detail.get(key, found)
	}
	if s.watch.wants(watchFetchers) {
		status := "not_found"
		if found {
			status = "found"
		}
		b := []byte("type=item_get key=")
		b = appendURIKey(b, key)
		b = append(b, " status="+status+" clsid="...)
		b = strconv.AppendInt(b, int64(c.classOf(key, size, found)), 10)
		b = c.appendCfdSize(b, size)
		s.watch.emit(watchFetchers, b)
	}
}

// storeStatus names a storage outcome as memcached's watch does.
var storeStatus = map[store.Result]string{store.Stored: "stored", store.NotStored: "not_stored", store.Exists: "exists", store.NotFound: "not_found"}

// storeCmd names a storage mode as memcached's watch does.
var storeCmd = map[protocol.StoreMode]string{protocol.ModeSet: "set", protocol.ModeAdd: "add",
	protocol.ModeReplace: "replace", protocol.ModeAppend: "append", protocol.ModePrepend: "prepend", protocol.ModeCAS: "cas"}

// observeStore reports a storage command on key: its outcome (status is
// too_large or no_memory when it could not be allocated), the value's size
// and its TTL in seconds (0 for none). Like memcached, it names the class
// the new item was given whether or not it was stored.
func (c *conn) observeStore(key []byte, mode protocol.StoreMode, status string, size int, ttl int64) {
	s := c.s
	if s.detail.on.Load() {
		s.detail.set(key)
	}
	if s.watch.wants(watchMutations) {
		class := 0
		if status == "too_large" || status == "no_memory" {
			size, ttl = 0, 0 // memcached logs a failed allocation without its item
		} else {
			class = c.classOf(key, size, true)
		}
		b := []byte("type=item_store key=")
		b = appendURIKey(b, key)
		b = append(b, " status="+status+" cmd="+storeCmd[mode]+" ttl="...)
		b = strconv.AppendInt(b, max(ttl, 0), 10)
		b = append(b, " clsid="...)
		b = strconv.AppendInt(b, int64(class), 10)
		b = c.appendCfdSize(b, size)
		s.watch.emit(watchMutations, b)
	}
}

// observeDelete reports a delete of key.
func (c *conn) observeDelete(key []byte) {
	if c.s.detail.on.Load() {
		c.s.detail.delete(key)
	}
}

func (c *conn) appendCfdSize(b []byte, size int) []byte {
	b = append(b, " cfd="...)
	b = strconv.AppendUint(b, c.id, 10)
	b = append(b, " size="...)
	return strconv.AppendInt(b, int64(size), 10)
}

// classOf is the class an item of key and size is stored in, 0 for a miss
// (memcached logs the class of the item it found, none for a miss).
func (c *conn) classOf(key []byte, size int, found bool) int {
	if !found || c.s.store == nil {
		return 0
	}
	return c.s.store.ClassOf(len(key), size)
}

// observed reports whether stats detail or a watcher of kind k would see
// an event: the request path asks before it keeps anything for one.
func (c *conn) observed(k watchKind) bool { return c.s.detail.on.Load() || c.s.watch.wants(k) }

// keepKey copies key, which points into the read buffer, where reading the
// data block that follows may overwrite it, when an observer will be told
// of the store; it returns key as it is otherwise.
func (c *conn) keepKey(key []byte) []byte {
	if !c.observed(watchMutations) {
		return key
	}
	c.keyCopy = append(c.keyCopy[:0], key...)
	return c.keyCopy
}

// allocFailure names an item that could not be allocated as memcached's
// watch does.
func allocFailure(err error) string {
	if errors.Is(err, store.ErrTooLarge) {
		return "too_large"
	}
	return "no_memory"
}

// relativeTTL is an exptime as seconds from now, memcached's ttl= field:
// exptimes over 30 days are unix times.
func relativeTTL(exptime int64) int64 {
	const maxRelativeExptime = 60 * 60 * 24 * 30
	if exptime > maxRelativeExptime {
		return exptime - time.Now().Unix()
	}
	return exptime
}

// observeEviction reports an item the store evicted, as memcached's watch
// evictions line does.
func (s *Server) observeEviction(e store.Eviction) {
	if !s.watch.wants(watchEvictions) {
		return
	}
	fetch := "no"
	if e.Fetched {
		fetch = "yes"
	}
	b := []byte("type=eviction key=")
	b = appendURIKey(b, e.Key)
	b = append(b, " fetch="+fetch+" ttl="...)
	b = strconv.AppendInt(b, e.TTL, 10)
	b = append(b, " la="...)
	b = strconv.AppendUint(b, uint64(e.LastAccess), 10)
	b = append(b, " clsid="...)
	b = strconv.AppendInt(b, int64(e.Class), 10)
	b = append(b, " size="...)
	b = strconv.AppendInt(b, int64(e.Size), 10)
	s.watch.emit(watchEvictions, b)
}
