package node

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-cache/shoal/protocol"
)

// watch is memcached 1.6's log streaming: `watch fetchers mutations
// evictions ...` turns a connection into a stream of one line per event, in
// memcached's formats, so that the scripts and tools written for
// memcached's watch read shoal's unchanged.
//
// Nothing is formatted unless a watcher wants that kind of event: the
// request path loads one atomic word. A watcher that reads slower than
// events come loses lines, not memory: its buffer is bounded, as
// memcached's is, and the next line it gets says how many it missed.

// watchKind is a kind of event a watcher asks for (memcached's LOG_* flags).
type watchKind uint32

const (
	watchFetchers watchKind = 1 << iota
	watchMutations
	watchEvictions
	// watchOther is every kind memcached accepts that shoal sends nothing
	// of yet (connevents, sysevents, rawcmds) or has no source
	// of (the proxy's): a watcher of them gets OK and no lines.
	watchOther
)

var watchKinds = map[string]watchKind{
	"fetchers": watchFetchers, "mutations": watchMutations, "evictions": watchEvictions,
	"connevents": watchOther, "sysevents": watchOther,
	"rawcmds": watchOther, "proxyreqs": watchOther, "proxyevents": watchOther, "proxyuser": watchOther,
}

const (
	maxWatchers    = 20        // memcached's WATCHER_LIMIT
	watcherBufSize = 256 << 10 // memcached's watcher_logbuf_size
)

// watchers are a server's watch connections.
type watchers struct {
	kinds   atomic.Uint32 // the union of what the watchers want
	gid     atomic.Uint64 // numbers every event, as memcached's gid
	skipped atomic.Uint64 // log_watcher_skipped
	sent    atomic.Uint64 // log_watcher_sent

	mu   sync.Mutex
	list []*watcher
}

// watcher is one watching connection's pending lines.
type watcher struct {
	kinds   watchKind
	minGid  uint64
	mu      sync.Mutex
	buf     []byte
	skipped uint64
	wake    chan struct{} // has a value when buf has lines
}

func (w *watchers) wants(k watchKind) bool { return watchKind(w.kinds.Load())&k != 0 }

// add registers a watcher for kinds, or returns nil when there are already
// as many as memcached allows.
func (w *watchers) add(kinds watchKind) *watcher {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.list) >= maxWatchers {
		return nil
	}
	wt := &watcher{kinds: kinds, minGid: w.gid.Load() + 1, wake: make(chan struct{}, 1)}
	w.list = append(w.list, wt)
	w.updateKindsLocked()
	return wt
}

func (w *watchers) remove(wt *watcher) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, x := range w.list {
		if x == wt {
			w.list = append(w.list[:i], w.list[i+1:]...)
			break
		}
	}
	w.updateKindsLocked()
}

func (w *watchers) updateKindsLocked() {
	var k watchKind
	for _, x := range w.list {
		k |= x.kinds
	}
	w.kinds.Store(uint32(k))
}

func (w *watchers) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.list)
}

// emit numbers an event of kind k and gives the line body (memcached's text
// after "ts=... gid=... ") to every watcher of that kind.
func (w *watchers) emit(k watchKind, body []byte) {
	gid := w.gid.Add(1)
	now := time.Now()
	line := make([]byte, 0, len(body)+48)
	line = append(line, "ts="...)
	line = strconv.AppendInt(line, now.Unix(), 10)
	line = append(line, '.')
	line = strconv.AppendInt(line, int64(now.Nanosecond()/1000), 10) // %d: not zero-padded, as memcached prints it
	line = append(line, " gid="...)
	line = strconv.AppendUint(line, gid, 10)
	line = append(line, ' ')
	line = append(line, body...)
	line = append(line, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range w.list {
		if x.kinds&k != 0 && gid >= x.minGid {
			w.offer(x, line)
		}
	}
}

// offer queues line for x, or counts it skipped when x's buffer is full.
func (w *watchers) offer(x *watcher, line []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.buf)+len(line)+32 > watcherBufSize {
		x.skipped++
		w.skipped.Add(1)
		return
	}
	if x.skipped > 0 {
		x.buf = append(x.buf, "skipped="...)
		x.buf = strconv.AppendUint(x.buf, x.skipped, 10)
		x.buf = append(x.buf, '\n')
		x.skipped = 0
	}
	x.buf = append(x.buf, line...)
	w.sent.Add(1)
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// take returns the lines queued for x, giving it spare for the next ones.
func (x *watcher) take(spare []byte) []byte {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.buf
	x.buf = spare[:0]
	return b
}

// watch serves `watch [kinds...]`: OK, then events until the client goes
// away or the server stops.
func (c *conn) watch(tokens [][]byte) error {
	c.setNoreply(tokens)
	if c.s.cfg.DisableWatch {
		c.reply([]byte("CLIENT_ERROR watch commands not allowed\r\n"))
		return nil
	}
	if c.w.Buffered() > 0 {
		c.reply([]byte("ERROR cannot pipeline other commands before watch\r\n"))
		return nil
	}
	kinds := watchFetchers
	if len(tokens) > 1 {
		kinds = 0
		for _, t := range tokens[1:] {
			k, ok := watchKinds[string(t)]
			if !ok {
				c.reply(protocol.RespError)
				return nil
			}
			kinds |= k
		}
	}
	wt := c.s.watch.add(kinds)
	if wt == nil {
		c.reply([]byte("WATCHER_TOO_MANY log watcher limit reached\r\n"))
		return nil
	}
	defer c.s.watch.remove(wt)
	return c.streamWatch(wt)
}

// streamWatch writes wt's lines until the client closes, a write fails or
// the server drains. A watching connection reads no more commands, as in
// memcached; what the client sends is read and dropped only to notice it
// closing.
func (c *conn) streamWatch(wt *watcher) error {
	c.write([]byte("OK\r\n"))
	if err := c.w.Flush(); err != nil {
		return err
	}
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		var b [512]byte
		for {
			if _, err := c.nc.Read(b[:]); err != nil {
				return
			}
		}
	}()
	c.idle.Store(true) // Shutdown may close a watcher at once
	defer c.idle.Store(false)
	var spare []byte
	for {
		select {
		case <-gone:
			return errClose
		case <-c.s.stop:
			return errClose
		case <-wt.wake:
		}
		b := wt.take(spare)
		if _, err := c.nc.Write(b); err != nil {
			return err
		}
		spare = b
	}
}

// appendURIKey appends key as memcached's uriencode writes keys in log
// lines: letters, digits and -._~ as they are, every other byte %XX.
func appendURIKey(b, key []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, ch := range key {
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '-', ch == '.', ch == '_', ch == '~':
			b = append(b, ch)
		default:
			b = append(b, '%', hex[ch>>4], hex[ch&15])
		}
	}
	return b
}
