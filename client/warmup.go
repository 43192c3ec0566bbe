package client

import (
	"context"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// Warm-up on scale-out: when the node list changes, the keys that move find
// their new owner empty. For WarmupWindow after a change, a miss on a key's
// new owner is retried on the node that owned it before, and a value found
// there is copied to the new owner, so that a scale-out does not turn into a
// storm of misses on the store behind the cache. Only keys that changed owner
// pay the extra round trip, and only on a miss.

// warmGet looks for key on its previous owner after a miss on its owner n,
// and copies a value found there to n.
func (c *Client) warmGet(ctx context.Context, r *ring, n *node, key string) *Item {
	p := r.prevOwner(key, n, time.Now())
	if p == nil {
		return nil
	}
	var it *Item
	err := c.call(ctx, p, func(mc *memcache.Client) (err error) {
		it, err = mc.Get(key)
		return err
	})
	if err != nil {
		return nil
	}
	it.CasID = 0 // an ID given by another server: a CompareAndSwap with it must fail
	c.copyTo(ctx, r, n, it)
	return it
}

// warmMulti does what warmGet does for the keys GetMulti did not find.
func (c *Client) warmMulti(ctx context.Context, r *ring, keys []string, m map[string]*Item) {
	now := time.Now()
	if r == nil || !r.warming(now) {
		return
	}
	groups := groupBy(keys, func(k string) *node {
		if _, ok := m[k]; ok {
			return nil
		}
		return r.prevOwner(k, r.owner(k), now)
	})
	if len(groups) == 0 {
		return
	}
	got, err := c.getGroups(ctx, groups)
	if err != nil {
		return
	}
	// The copies are made of items of their own: writes abandoned when ctx
	// ends must not read what the caller was given.
	var found []string
	byKey := make(map[string]Item)
	for _, g := range got {
		for k, it := range g.items {
			it.CasID = 0
			m[k] = it
			found = append(found, k)
			byKey[k] = *it
		}
	}
	copies := groupBy(found, r.owner)
	fanOut(ctx, len(copies), func(i int) {
		for _, k := range copies[i].keys {
			it := byKey[k]
			c.copyTo(ctx, r, copies[i].node, &it)
		}
	})
}

// copyTo writes a value found on a key's previous owner to its owner n in
// r, unless n has got one meanwhile, to expire after WarmupTTL, or after
// FailoverTTL if n is only the key's fail-over owner: a copy is a write
// like any other.
func (c *Client) copyTo(ctx context.Context, r *ring, n *node, it *Item) {
	cp := *it
	cp.Expiration = expiration(c.cfg.WarmupTTL)
	n, failover := c.writeTarget(r, it.Key, n, write)
	if failover {
		cp.Expiration = c.failoverExpiration(cp.Expiration)
	}
	c.call(ctx, n, func(mc *memcache.Client) error { return mc.Add(&cp) })
}

// expiration is a time to live as memcached takes it: seconds from now up to
// 30 days, a Unix time beyond. Zero means no expiration.
func expiration(ttl time.Duration) int32 {
	if ttl <= 0 {
		return 0
	}
	return expirationSeconds(int64((ttl + time.Second - 1) / time.Second))
}

// month is the longest expiration memcached takes in seconds from now.
const month = 30 * 24 * 60 * 60

func expirationSeconds(secs int64) int32 {
	if secs > month {
		return int32(time.Now().Unix() + secs)
	}
	return int32(secs)
}
