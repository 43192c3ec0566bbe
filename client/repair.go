package client

import (
	"errors"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"go.uber.org/zap"
)

// Routing back after a fail-over.
//
// While a key's primary owner is out of this client's ring, its writes land
// on its fail-over owner, and the primary keeps whatever it held: after a
// SIGSTOP, a network cut or a hang that this client saw but the cluster may
// not have, the primary comes back with values older than writes this
// client has had acknowledged meanwhile. So the client remembers, per
// position, the keys it wrote elsewhere in the position's place (it owes
// them to the position), and a node at a position with keys owed is held
// out of the ring, whether a probe found it answering or a new list lists
// it, until those keys are deleted on it. Then it is routed to again, in a
// warm-up window: a deleted key misses there and is fetched from its
// fail-over owner, which holds the last acknowledged write.
//
// A position owed more than maxOwed keys is not repaired key by key: it is
// held out until a list of a higher version than the one this client held
// then lists a node there (after a failure, the cluster drops the node, and
// the node flushes its cache when it learns that, or comes back restarted).

// maxOwed bounds the keys remembered per position (a few megabytes).
const maxOwed = 1 << 16

// repairWorkers is how many deletes of a repair run at once.
const repairWorkers = 8

// An owedSet is the keys written elsewhere in a position's place.
type owedSet struct {
	keys      map[string]struct{}
	overflow  bool   // more than maxOwed keys: keys is nil
	since     uint64 // the list version held when it overflowed
	repairing *node  // the node a repair runs on, if one does
}

// owe records that key is about to be written on a fail-over owner in the
// place of the node at pos. If that position is live again in the current
// ring (routed back since the caller loaded its ring), it records nothing
// and returns the node there: the write must go to it instead.
func (c *Client) owe(pos int, key string) *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.cur.Load(); pos < len(cur.slots) {
		if n := cur.slots[pos]; n != nil && !n.down.Load() {
			return n
		}
	}
	d := c.owed[pos]
	if d == nil {
		d = &owedSet{keys: make(map[string]struct{})}
		c.owed[pos] = d
	}
	switch {
	case d.overflow:
	case len(d.keys) >= maxOwed:
		d.overflow, d.since, d.keys, d.repairing = true, c.version, nil, nil
		c.log.Warn("too many keys written in a position's place to repair them: "+
			"holding its node out until a newer list", zap.Int("position", pos), zap.Int("keys", maxOwed))
	default:
		d.keys[key] = struct{}{}
	}
	return nil
}

// heldLocked reports whether m's node must stay out of the ring for now,
// and starts its repair if it must and can be repaired.
func (c *Client) heldLocked(m member) bool {
	d := c.owed[m.pos]
	switch {
	case d == nil:
		return false
	case d.overflow && c.version > d.since:
		delete(c.owed, m.pos)
		c.log.Info("routing to a position again with a newer list", zap.Int("position", m.pos), zap.Stringer("node", m.node))
		return false
	case !d.overflow && d.repairing != m.node && !c.closed:
		d.repairing = m.node
		c.wg.Add(1)
		go c.repair(m.pos, m.node)
	}
	return true
}

// repair deletes on n the keys owed to its position, until none is left,
// then routes to n again. It gives up when n fails, leaves the list or
// stops being the node repaired there; the next rebuild that finds n up
// starts again.
func (c *Client) repair(pos int, n *node) {
	defer c.wg.Done()
	for {
		keys, ok := c.nextRepair(pos, n)
		if !ok {
			return
		}
		err := c.deleteOn(n, keys)
		if err == nil {
			continue
		}
		c.log.Warn("repairing a node before routing to it again", zap.Stringer("node", n), zap.Error(err))
		if !c.repairFailed(pos, n, keys) {
			return
		}
		select {
		case <-c.bg.Done():
			c.repairFailed(pos, n, nil)
			return
		case <-time.After(c.cfg.ProbeInterval):
		}
	}
}

// nextRepair takes the keys still owed to pos for a repair on n. When none
// is left, it routes to n again and reports false, as it does when the
// repair is no longer n's to make.
func (c *Client) nextRepair(pos int, n *node) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.owed[pos]
	switch {
	case d == nil || d.repairing != n:
		return nil, false
	case c.closed || n.removed.Load() || n.down.Load() || d.overflow:
		d.repairing = nil
		return nil, false
	case len(d.keys) == 0:
		delete(c.owed, pos)
		c.log.Info("node repaired: routing to it again", zap.Stringer("node", n), zap.Int("position", pos))
		c.rebuildLocked(true)
		return nil, false
	}
	keys := make([]string, 0, len(d.keys))
	for k := range d.keys {
		keys = append(keys, k)
	}
	clear(d.keys)
	return keys, true
}

// repairFailed gives keys back to pos and reports whether the repair on n
// should be tried again: n answers, but not as it should.
func (c *Client) repairFailed(pos int, n *node, keys []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.owed[pos]
	if d == nil || d.repairing != n {
		return false
	}
	if !d.overflow {
		for _, k := range keys {
			d.keys[k] = struct{}{}
		}
	}
	if n.down.Load() || n.removed.Load() || d.overflow || c.closed {
		d.repairing = nil
		return false
	}
	return true
}

// deleteOn deletes keys on n, repairWorkers at a time.
func (c *Client) deleteOn(n *node, keys []string) error {
	workers := min(repairWorkers, len(keys))
	errs := make([]error, workers)
	if err := fanOut(c.bg, workers, func(w int) {
		for i := w; i < len(keys); i += workers {
			err := c.run(n, func(mc *memcache.Client) error { return mc.Delete(keys[i]) })
			if err != nil && !errors.Is(err, ErrCacheMiss) {
				errs[w] = nodeErr(n, err)
				return
			}
		}
	}); err != nil {
		return err
	}
	return errors.Join(errs...)
}
