package client

import (
	"net"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"go.uber.org/zap"
)

// A node is one cache server: a gomemcache client of its own, whose selector
// always picks this server, and what this client knows of its health.
//
// One gomemcache client per node, rather than one for all nodes with a
// partitioning selector, is what lets the client tell which node an error
// came from (to route around that node at once) and address a given node
// (to warm a key from its previous owner), neither of which
// ServerSelector.PickServer(key) can express.
type node struct {
	addr net.Addr // the one value PickServer returns, so pooling is per node
	mc   *memcache.Client

	down    atomic.Bool // found not answering; routed around until it answers
	probing atomic.Bool // a probe goroutine is running
	removed atomic.Bool // no longer in the published list
}

func newNode(addr string, cfg *Config) *node {
	n := &node{addr: serverAddr(addr)}
	n.mc = memcache.NewFromSelector(n)
	n.mc.Timeout = cfg.Timeout
	n.mc.MaxIdleConns = cfg.MaxIdleConns
	n.mc.DialContext = cfg.dial
	return n
}

// PickServer implements memcache.ServerSelector.
func (n *node) PickServer(string) (net.Addr, error) { return n.addr, nil }

// Each implements memcache.ServerSelector.
func (n *node) Each(f func(net.Addr) error) error { return f(n.addr) }

func (n *node) String() string { return n.addr.String() }

// serverAddr is a TCP address kept as the host:port it was given, so that a
// host name is resolved when gomemcache dials, not once for the client's life.
type serverAddr string

func (a serverAddr) Network() string { return "tcp" }
func (a serverAddr) String() string  { return string(a) }

// markDown routes around n until it answers again or a new list arrives,
// and drops its idle connections: when it comes back, it may be another
// process.
func (c *Client) markDown(n *node, err error) {
	if !n.down.CompareAndSwap(false, true) {
		return
	}
	n.mc.Close()
	c.log.Warn("node down: routing around it", zap.Stringer("node", n), zap.Error(err))
	c.mu.Lock()
	c.rebuildLocked(false)
	c.startProbeLocked(n)
	c.mu.Unlock()
}

// markUp puts a node found down back in the ring, once the keys owed to it
// are repaired (repair.go). The keys it gets back are warmed from the
// nodes that held them meanwhile.
func (c *Client) markUp(n *node) {
	if !n.down.CompareAndSwap(true, false) {
		return
	}
	c.log.Info("node answers again", zap.Stringer("node", n))
	c.mu.Lock()
	c.rebuildLocked(true)
	c.mu.Unlock()
}

func (c *Client) startProbeLocked(n *node) {
	if c.closed || n.removed.Load() || !n.probing.CompareAndSwap(false, true) {
		return
	}
	c.wg.Add(1)
	go c.probe(n)
}

// probe pings a down node every ProbeInterval until it answers, it is no
// longer down (a new list came), it leaves the list or the client closes.
func (c *Client) probe(n *node) {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.ProbeInterval)
	defer t.Stop()
	for {
		for n.down.Load() && !n.removed.Load() {
			select {
			case <-c.bg.Done():
				n.probing.Store(false)
				return
			case <-t.C:
			}
			n.mc.Close() // a connection from before the failure may be broken
			if n.mc.Ping() == nil {
				c.markUp(n)
			}
		}
		n.probing.Store(false)
		// markDown may have run between the loop's last check and the
		// store above, and found a probe still running: look again.
		if !n.down.Load() || n.removed.Load() || !n.probing.CompareAndSwap(false, true) {
			return
		}
	}
}
