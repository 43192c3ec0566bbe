// Package client is a memcached client for shoal clusters (and any
// memcached or ElastiCache for Memcached cluster), built on
// github.com/bradfitz/gomemcache: auto-discovery, jump consistent hashing
// over stable positions, failure routing, and the caching patterns
// (GetOrLoad, SetThrough, warm-up on scale-out).
//
//	c, err := client.New(ctx, client.Config{Endpoints: []string{"cache.cfg.example:11211"}})
//	defer c.Close()
//	err = c.Set(ctx, &client.Item{Key: "user:1001", Value: b, Expiration: 300})
//	it, err := c.Get(ctx, "user:1001")
//
// # Built on gomemcache
//
// Each node gets a gomemcache Client of its own, made with
// memcache.NewFromSelector and a selector that returns the same net.Addr
// value for every key, with MaxIdleConns set from Config.MaxIdleConns
// (gomemcache's default of 2 idle connections per server makes a client
// under concurrent load dial and close connections all the time). The
// client partitions keys itself rather than in a selector, because it must
// know which node an error came from, to route around that node at once,
// and address a given node, to warm a key from its previous owner; a
// selector that maps a key to a server can do neither. Item and the error
// values are gomemcache's.
//
// gomemcache takes no context.Context, and its one deadline,
// Client.Timeout, is a field of a client shared by all calls. So a call
// whose context can be canceled runs in a goroutine, and returns the
// context's error as soon as the context ends; the abandoned request ends
// by itself within Config.Timeout, and gomemcache then closes or reuses its
// connection as usual. A write so abandoned may or may not have been
// applied, as with any request whose reply is lost. A call with a context
// that is never canceled (context.Background) runs directly.
//
// # Discovery
//
// With Config.Endpoints, the client reads the node list with `config get
// shoal-cluster` (shoal's form, which gives each node a stable position and
// a state), falling back to ElastiCache's `config get cluster` and then to
// the pre-1.4.14 `get AmazonElastiCache:cluster` on servers that know only
// those. It reads the list again every Config.PollInterval and applies it
// only if its version is higher than the one it holds. When no endpoint
// answers, it asks the nodes it knows, in turn (every shoal node answers
// discovery); when nothing answers, it keeps serving with the last list.
// A list in the standard form has no positions: nodes take their index in
// the list, so removing one from the middle of such a list moves more keys
// than it should.
//
// # Partitioning
//
// A key's owner is found with jump consistent hashing over the positions of
// the live nodes: the number of buckets is the highest live position + 1,
// and a key whose bucket has no live node (a gap left by a failed node, a
// node that is joining or leaving, a node this client found down) is hashed
// again, attempt by attempt, until it lands on a live one. The answer
// depends only on the set of live positions, so every client that holds the
// same list computes the same owners; a failed node's keys spread evenly
// over the others and no other key moves. The hash is FNV-1a 64 finished
// with murmur3's fmix64, and attempt i+1 jumps on fmix64(h_i +
// 0x9e3779b97f4a7c15), so other clients can compute the same owners.
//
// A node that does not answer (a dial error or a timeout) is routed around
// at once by this client, by the same rule, and pinged every
// Config.ProbeInterval until it answers; a new list brings every listed node
// back. The call that found it down is tried again on the key's fail-over
// owner. After a broken pooled connection the node's idle connections are
// dropped and the call is tried again on a fresh one, when trying twice is
// harmless (not for Add, Append, Prepend, CompareAndSwap, Increment,
// Decrement).
//
// # Warm-up
//
// For Config.WarmupWindow after the list changes (and after a node found
// down answers again), a miss on a key whose owner changed is retried on its
// previous owner, and a value found there is copied to the new owner with
// add, to expire after Config.WarmupTTL (gomemcache cannot read an item's
// remaining time to live). Get, GetMulti and GetOrLoad warm; Delete deletes
// on both owners during the window so that warm-up cannot bring a deleted
// value back, and FlushAll flushes both. An item found by warm-up has a
// CasID of zero: a CompareAndSwap with it fails, and Get again gives the
// new owner's.
package client
