// Package store is a shoal node's storage engine: the items, their memory,
// expiry and eviction, and the counters memcached's stats report about
// them. It is a package of its own so that the engine can change (its item
// layout, its eviction policy) behind one API that knows nothing of the
// protocols: the server maps each command to a call with the engine's own
// options (GetOptions, SetOptions, DeleteOptions, ArithOptions) and results.
// It is internal to node, the only user, so that the API can follow the
// engine.
//
// Storage follows memcached's design. Memory is one anonymous mapping outside
// the Go heap, cut into pages (1 MB by default) that are handed to chunk
// classes whose sizes grow by a factor; an item's header, key and value live
// in one chunk. Items are found through per-shard hash tables of 32-bit chunk
// references and kept in per-class LRU lists linked through the chunks
// themselves, so nothing the garbage collector scans grows with the number
// of items.
//
// Files are named by operation: get, set, arith, delete, expire (liveness
// and flushes), crawl (freeing dead items in the background), evict, mover,
// automove and control (pages between classes), dump (listings) and stats.
//
// Locking: an item is guarded by its shard's lock (hash chain, header
// fields); a class's lock guards its LRU list and free list. Locks are taken
// shard first, then class. Eviction, which starts from a class, only
// try-locks the victim's shard and skips victims it cannot lock, as
// memcached does with its item locks.
package store
