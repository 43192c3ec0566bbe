package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// Get gets the item for key, or ErrCacheMiss. Within a warm-up window, a
// miss on a key that changed owner is retried on its previous owner.
func (c *Client) Get(ctx context.Context, key string) (*Item, error) {
	var it *Item
	r, n, err := c.do(ctx, key, read, func(mc *memcache.Client, _ bool) (err error) {
		it, err = mc.Get(key)
		return err
	})
	if err == nil {
		return it, nil
	}
	if errors.Is(err, ErrCacheMiss) && n != nil {
		if it := c.warmGet(ctx, r, n, key); it != nil {
			return it, nil
		}
	}
	return nil, err
}

// GetMulti gets the items for keys, asking every node that holds some of
// them in parallel. Missing keys are absent from the map. On an error, the
// map holds what the other nodes answered.
func (c *Client) GetMulti(ctx context.Context, keys []string) (map[string]*Item, error) {
	if c.closing.Load() {
		return nil, ErrClosed
	}
	for _, k := range keys {
		if !legalKey(k) {
			return nil, ErrMalformedKey
		}
	}
	m := make(map[string]*Item, len(keys))
	var errs []error
	var failed []*node // as in do: retries go around them
	pending := keys
	var r *ring
	for try := 1; len(pending) > 0; try++ {
		r = c.cur.Load().without(failed)
		if len(r.live) == 0 {
			errs = append(errs, ErrNoServers)
			break
		}
		groups := groupBy(pending, r.owner)
		got, err := c.getGroups(ctx, groups)
		if err != nil {
			return m, err
		}
		pending = nil
		for i, g := range got {
			for k, it := range g.items {
				m[k] = it
			}
			switch f := classify(g.err); {
			case g.err == nil:
			case try < maxTries && f != noFailure:
				pending = append(pending, groups[i].keys...)
				if len(r.live) > 1 {
					failed = append(failed, groups[i].node)
				}
			default:
				errs = append(errs, nodeErr(groups[i].node, g.err))
			}
		}
	}
	c.warmMulti(ctx, r, keys, m)
	return m, errors.Join(errs...)
}

// group is keys that one node holds.
type group struct {
	node *node
	keys []string
}

// groupBy groups keys by the node that at gives each, leaving out the keys
// it gives none.
func groupBy(keys []string, at func(key string) *node) []group {
	var groups []group
	index := make(map[*node]int)
	for _, k := range keys {
		n := at(k)
		if n == nil {
			continue
		}
		i, ok := index[n]
		if !ok {
			i = len(groups)
			index[n] = i
			groups = append(groups, group{node: n})
		}
		groups[i].keys = append(groups[i].keys, k)
	}
	return groups
}

type multiResult struct {
	items map[string]*Item
	err   error
}

// getGroups fetches each group from its node, in parallel.
func (c *Client) getGroups(ctx context.Context, groups []group) ([]multiResult, error) {
	res := make([]multiResult, len(groups))
	err := fanOut(ctx, len(groups), func(i int) {
		g := groups[i]
		res[i].err = c.run(g.node, func(mc *memcache.Client) (err error) {
			res[i].items, err = mc.GetMulti(g.keys)
			return err
		})
	})
	return res, err
}

// fanOut runs f(0) ... f(n-1) in parallel and waits for them all, or for ctx
// to end. After it returns an error, the f still running must not be waited
// for: they end by themselves within the client's Timeout.
func fanOut(ctx context.Context, n int, f func(i int)) error {
	if n == 1 && ctx.Done() == nil {
		f(0)
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan struct{}, n)
	for i := range n {
		go func() {
			f(i)
			done <- struct{}{}
		}()
	}
	for range n {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// legalKey is gomemcache's key rule, checked before GetMulti splits the keys
// so that a bad key fails the whole call, as it does in gomemcache.
func legalKey(key string) bool {
	if len(key) > 250 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return false
		}
	}
	return true
}

// Set writes item unconditionally.
func (c *Client) Set(ctx context.Context, item *Item) error {
	return c.store(ctx, item, write, (*memcache.Client).Set)
}

// Add writes item if its key holds no value, else returns ErrNotStored.
func (c *Client) Add(ctx context.Context, item *Item) error {
	return c.store(ctx, item, writeOnce, (*memcache.Client).Add)
}

// Replace writes item if its key holds a value, else returns ErrNotStored.
func (c *Client) Replace(ctx context.Context, item *Item) error {
	return c.store(ctx, item, write, (*memcache.Client).Replace)
}

// Append appends item's value to its key's value, or returns ErrNotStored.
func (c *Client) Append(ctx context.Context, item *Item) error {
	return c.store(ctx, item, writeOnce, (*memcache.Client).Append)
}

// Prepend prepends item's value to its key's value, or returns ErrNotStored.
func (c *Client) Prepend(ctx context.Context, item *Item) error {
	return c.store(ctx, item, writeOnce, (*memcache.Client).Prepend)
}

// CompareAndSwap writes item, got by Get, if its value has not changed since
// (else ErrCASConflict) and is still there (else ErrNotStored).
func (c *Client) CompareAndSwap(ctx context.Context, item *Item) error {
	return c.store(ctx, item, writeOnce, (*memcache.Client).CompareAndSwap)
}

// store writes item with op. On a fail-over owner it writes a copy with
// the expiration capped at FailoverTTL; the caller's item is left alone.
func (c *Client) store(ctx context.Context, item *Item, kind callKind, op func(*memcache.Client, *Item) error) error {
	r, n, err := c.do(ctx, item.Key, kind, func(mc *memcache.Client, failover bool) error {
		if !failover {
			return op(mc, item)
		}
		cp := *item
		cp.Expiration = c.failoverExpiration(item.Expiration)
		return op(mc, &cp)
	})
	if err == nil && n != nil {
		c.forgetPrevious(ctx, r, n, item.Key)
	}
	return err
}

// forgetPrevious deletes key on the node that owned it before the last
// change, within the warm-up window, after a write on its owner n: warm-up
// copies from that node on a miss, and its copy is now older than the
// write. Without this, a miss on n (an eviction, or a node that flushes
// itself on learning it had been dropped) would bring the older value back.
// It costs one delete per moved key written, during the window only.
func (c *Client) forgetPrevious(ctx context.Context, r *ring, n *node, key string) {
	if p := r.prevOwner(key, n, time.Now()); p != nil {
		_ = c.call(ctx, p, func(mc *memcache.Client) error { return mc.Delete(key) })
	}
}

// Delete deletes key's value, or returns ErrCacheMiss. Within a warm-up
// window it deletes the value on the key's previous owner too, so that
// warm-up cannot bring it back.
func (c *Client) Delete(ctx context.Context, key string) error {
	del := func(mc *memcache.Client) error { return mc.Delete(key) }
	r, n, err := c.do(ctx, key, write, func(mc *memcache.Client, _ bool) error { return del(mc) })
	if n == nil || err != nil && !errors.Is(err, ErrCacheMiss) {
		return err
	}
	if p := r.prevOwner(key, n, time.Now()); p != nil {
		if c.call(ctx, p, del) == nil {
			return nil
		}
	}
	return err
}

// Increment adds delta to key's decimal value and returns the new value, or
// ErrCacheMiss. The 64-bit value wraps around.
func (c *Client) Increment(ctx context.Context, key string, delta uint64) (uint64, error) {
	return c.incrDecr(ctx, key, delta, (*memcache.Client).Increment)
}

// Decrement subtracts delta from key's decimal value and returns the new
// value, or ErrCacheMiss. The value stops at zero.
func (c *Client) Decrement(ctx context.Context, key string, delta uint64) (uint64, error) {
	return c.incrDecr(ctx, key, delta, (*memcache.Client).Decrement)
}

func (c *Client) incrDecr(ctx context.Context, key string, delta uint64, op func(*memcache.Client, string, uint64) (uint64, error)) (uint64, error) {
	var v uint64
	_, _, err := c.do(ctx, key, writeOnce, func(mc *memcache.Client, _ bool) (err error) {
		v, err = op(mc, key, delta)
		return err
	})
	if err != nil {
		return 0, err
	}
	return v, nil
}

// Touch sets key's expiration, in seconds from now (up to 30 days) or as a
// Unix time, or returns ErrCacheMiss. On a fail-over owner the expiration
// is capped at FailoverTTL, as a write's is.
func (c *Client) Touch(ctx context.Context, key string, seconds int32) error {
	_, _, err := c.do(ctx, key, write, func(mc *memcache.Client, failover bool) error {
		if failover {
			return mc.Touch(key, c.failoverExpiration(seconds))
		}
		return mc.Touch(key, seconds)
	})
	return err
}

// FlushAll empties every live node, and, within a warm-up window, the nodes
// that warm-up reads from, in parallel.
func (c *Client) FlushAll(ctx context.Context) error {
	if c.closing.Load() {
		return ErrClosed
	}
	r := c.cur.Load()
	nodes := append([]*node(nil), r.live...)
	if r.warming(time.Now()) {
		for _, p := range r.prev.live {
			if !slices.Contains(nodes, p) {
				nodes = append(nodes, p)
			}
		}
	}
	if len(nodes) == 0 {
		return ErrNoServers
	}
	errs := make([]error, len(nodes))
	if err := fanOut(ctx, len(nodes), func(i int) {
		errs[i] = nodeErr(nodes[i], c.run(nodes[i], (*memcache.Client).FlushAll))
	}); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// Ping checks that every live node answers.
func (c *Client) Ping(ctx context.Context) error {
	if c.closing.Load() {
		return ErrClosed
	}
	r := c.cur.Load()
	if len(r.live) == 0 {
		return ErrNoServers
	}
	errs := make([]error, len(r.live))
	if err := fanOut(ctx, len(r.live), func(i int) {
		errs[i] = nodeErr(r.live[i], c.run(r.live[i], (*memcache.Client).Ping))
	}); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// nodeErr says which node an error of a call to many nodes came from.
func nodeErr(n *node, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("client: %s: %w", n, err)
}
