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
// This is engine v1. Measured against memcached 1.6.18 for the same items
// (bench/compare --memory-sweep; README "Memory and misses against
// memcached"), it costs 0.84-1.02x memcached's resident memory at a million
// items and more at 100k, where the process's own 13 MB (8 MB above
// memcached's, mostly the binary's mapped pages) dominates; its miss ratio
// under pressure is 0.98-1.01x memcached's. Its classes round an item up by
// about 11% and its header is 40 bytes. The v2 it points to is Segcache's
// design: items appended to segments with a header of about 24 bytes, no
// classes and no LRU links, segments expired by TTL bucket and evicted
// whole with the items read since they were written merged forward, and
// stats reporting the class memcached would give each item. The API above
// is meant to stay as it is across that change: nothing outside this
// package sees a class, a chunk or a page except through ClassStats,
// Reassign and the dumps.
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
package slab
