package node

import (
	"bytes"

	"github.com/shoal-cache/shoal/internal/hotkeys"
	"github.com/shoal-cache/shoal/internal/latency"
	"github.com/shoal-cache/shoal/protocol"
)

// introspection is what a node learns about its own traffic beyond
// memcached's counters: latency per command family and the hot keys. Both
// are nil (recording nothing) under Config.NoIntrospection.
type introspection struct {
	lat *latency.Recorder
	hot *hotkeys.Tracker
}

func newIntrospection(cfg Config) introspection {
	if cfg.NoIntrospection {
		return introspection{}
	}
	return introspection{lat: latency.NewRecorder(), hot: hotkeys.New(cfg.HotKeySample)}
}

func (in *introspection) reset() {
	in.lat.Reset()
	in.hot.Reset()
}

// Latency is the histogram of one command family's service times.
func (s *Server) Latency(f latency.Family) latency.Snapshot { return s.intro.lat.Snapshot(f) }

// HotKeys are the hottest keys read and written, hottest first.
func (s *Server) HotKeys() (reads, writes []hotkeys.Entry) { return s.intro.hot.Top() }

// textFamily is the latency family of a text command.
func textFamily(name []byte) latency.Family {
	if len(name) == 2 && name[0] == 'm' {
		return latency.Meta
	}
	switch string(name) {
	case "get", "bget", "gets", "gat", "gats":
		return latency.Get
	case "set", "add", "replace", "append", "prepend", "cas":
		return latency.Set
	case "delete":
		return latency.Delete
	case "incr", "decr":
		return latency.IncrDecr
	case "touch":
		return latency.Touch
	case "config":
		return latency.Config
	}
	return latency.None
}

// sampleText offers a text command's keys to the hot key tracker, before
// the command runs (which may reuse the token slice and the line); the
// observer (observe.go) calls it.
func (c *conn) sampleText(f latency.Family, tokens [][]byte, rest []byte) {
	hot := c.s.intro.hot
	if hot == nil || len(tokens) < 2 {
		return
	}
	switch f {
	case latency.Get:
		keys := tokens[1:]
		if tokens[0][0] == 'g' && tokens[0][1] == 'a' { // gat, gats: exptime first
			keys = keys[1:]
		}
		for _, k := range keys {
			hot.Read(k)
		}
		for len(rest) > 0 {
			var k []byte
			k, rest, _ = bytes.Cut(rest, []byte(" "))
			hot.Read(k)
		}
	case latency.Meta:
		switch tokens[0][1] {
		case 'g':
			hot.Read(tokens[1])
		case 's', 'd', 'a':
			hot.Write(tokens[1])
		}
	case latency.Set, latency.Delete, latency.IncrDecr, latency.Touch:
		hot.Write(tokens[1])
	}
}

// binaryFamily is the latency family of a binary request, and whether it
// reads (rather than writes) its key.
func binaryFamily(op protocol.Opcode) (f latency.Family, read bool) {
	switch op {
	case protocol.OpGet, protocol.OpGetK, protocol.OpGAT, protocol.OpGATK:
		return latency.Get, true
	case protocol.OpTouch:
		return latency.Touch, false
	case protocol.OpSet, protocol.OpAdd, protocol.OpReplace, protocol.OpAppend, protocol.OpPrepend:
		return latency.Set, false
	case protocol.OpDelete:
		return latency.Delete, false
	case protocol.OpIncrement, protocol.OpDecrement:
		return latency.IncrDecr, false
	}
	return latency.None, false
}

// sampleBinary offers a binary request's key to the hot key tracker.
func (c *conn) sampleBinary(f latency.Family, read bool, key []byte) {
	switch {
	case f == latency.None:
	case read:
		c.s.intro.hot.Read(key)
	default:
		c.s.intro.hot.Write(key)
	}
}

// ConnEngine is how the node holds its connections between requests
// (poller.go): memcached has no such figures, since its connections cost
// the same busy or idle.
type ConnEngine struct {
	Waiting int    // waiting for a request on Go's poller, a goroutine each
	Parked  int    // in the node's own epoll set, a few dozen bytes each
	Parks   uint64 // times a connection was parked, since the node started
}

// ConnEngine reports the node's connections by how they wait.
func (s *Server) ConnEngine() ConnEngine {
	s.mu.Lock()
	p := s.poll // set by Serve
	s.mu.Unlock()
	if p == nil {
		return ConnEngine{}
	}
	p.mu.Lock()
	parked := len(p.parked)
	p.mu.Unlock()
	return ConnEngine{Waiting: int(p.waiting.Load()), Parked: parked, Parks: p.parks.Load()}
}
