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
// A node that does not answer (a dial error or a timeout), or whose pooled
// connection breaks (a killed or restarted process), is routed around at
// once by this client, by the same rule, its idle connections are dropped,
// and it is pinged every Config.ProbeInterval until it answers; a new list
// brings every listed node back. The call that found it failing is tried
// again on the key's fail-over owner (after a broken connection only when
// trying twice is harmless: not for Add, Append, Prepend, CompareAndSwap,
// Increment, Decrement), and its retries go around every node it found
// failing, whether or not the ring says so yet, so they never meet another
// dead connection of the same node. Only when that node is the last one
// left is it tried again, on a fresh connection.
//
// # Fail-over and consistency
//
// A key's primary owner is its jump bucket over the full list of positions:
// every position this client has seen in a list, 0 to the highest, whether
// a node is live there or not. A write that lands elsewhere, on a fail-over
// owner, because the primary is down, found down or missing from the list,
// gets its expiration capped at Config.FailoverTTL (60 s by default; no
// expiration and anything longer become the cap), as mcrouter's
// failover_exptime does: those copies are left behind when the primary
// comes back, and must be gone before it fails again. Warm-up copies to a
// fail-over owner get the same cap. The cost: while a position is empty (a
// node gone for good, until a new node takes its position), its keys are
// cached for FailoverTTL at most.
//
// The client also remembers the keys it wrote on fail-over owners in a
// position's place (up to 65,536 per position), and routes back to a node
// there only once it has deleted those keys on it, whether a probe found
// the node answering or a new list lists it again. A deleted key then
// misses on the node and warm-up fetches it from the fail-over owner, which
// holds the last write acknowledged. So the client never reads back its own
// acknowledged write older than it was, even from a node that hung (SIGSTOP,
// a network cut) for less than the cluster's failure detection and kept
// everything it held. A position owed more keys than that is held out
// until a list of a higher version lists a node there.
//
// What a client sees through each fault, at the defaults (its own writes
// and reads, one writer per key; values are never mixed up between keys):
//
//   - Kill (SIGKILL, a crash): the first call to the node fails over and no
//     error reaches the application while another node lives. Its keys miss
//     on their fail-over owners until written. Restarted, the node is empty;
//     it is routed to again once a probe (or the list) finds it, and misses
//     there are warmed from the fail-over owners. No stale reads.
//   - Restart before failure detection: as a kill; its broken pooled
//     connections route around it until a probe answers.
//   - SIGSTOP then SIGCONT, a hang, a cut: calls wait Config.Timeout, then
//     fail over. Back before failure detection, the node kept its values:
//     the repair above deletes this client's rewritten keys first, so no
//     stale reads for this client; another client that did not write them
//     can read the older values until this one has repaired the node. Back
//     after failure detection, the cluster dropped the node, and the node
//     empties its cache when it learns that, so every client finds it empty.
//   - Graceful leave (SIGTERM): the node leaves the list, then serves for
//     its leave grace; a client that has not polled by then finds its
//     connections closed and fails over as after a kill. Its keys move to
//     their fail-over owners, capped at FailoverTTL.
//   - Scale-out: the keys that move to the new node are warmed from their
//     previous owners within WarmupWindow. The previous owners keep their
//     copies with the TTL they were written with: if the new node fails
//     within it, those copies come back older than writes made since.
//
// A node that fails again within FailoverTTL of its return may show its
// fail-over owners' copies of keys rewritten on it since. Across clients,
// each routes by its own view while a fault is being detected, so two
// clients writing one key may write it on different nodes for that time.
//
// # Warm-up
//
// For Config.WarmupWindow after the list changes (and after a node found
// down answers again), a miss on a key whose owner changed is retried on its
// previous owner, and a value found there is copied to the new owner with
// add, to expire after Config.WarmupTTL (gomemcache cannot read an item's
// remaining time to live), or FailoverTTL if that is shorter and the new
// owner is only a fail-over owner. Get, GetMulti and GetOrLoad warm; Delete deletes
// on both owners during the window so that warm-up cannot bring a deleted
// value back, and FlushAll flushes both. An item found by warm-up has a
// CasID of zero: a CompareAndSwap with it fails, and Get again gives the
// new owner's.
package client
