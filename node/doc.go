// Package node is a shoal cache node: a memcached-compatible server and the
// storage engine behind it.
//
// Storage follows memcached's design. Memory is one anonymous mapping outside
// the Go heap, cut into pages (1 MB by default) that are handed to chunk
// classes whose sizes grow by a factor; an item's header, key and value live
// in one chunk. Items are found through per-shard hash tables of 32-bit chunk
// references and kept in per-class LRU lists linked through the chunks
// themselves, so nothing the garbage collector scans grows with the number
// of items.
//
// Locking: an item is guarded by its shard's lock (hash chain, header
// fields); a class's lock guards its LRU list and free list. Locks are taken
// shard first, then class. Eviction, which starts from a class, only
// try-locks the victim's shard and skips victims it cannot lock, as
// memcached does with its item locks.
package node
