// Package store is a shoal node's storage engine: the items, their memory,
// expiry and eviction, and the counters memcached's stats report about
// them. It is a package of its own so that the engine can change (its item
// layout, its eviction policy) behind one API that knows nothing of the
// protocols: the server maps each command to a call with the engine's own
// options (GetOptions, SetOptions, DeleteOptions, ArithOptions) and results.
// It is internal to node, the only user, so that the API can follow the
// engine.
//
// This is engine v2, Segcache's design (Yang et al., NSDI'21; Pelikan's
// src/storage/seg), behind v1's API. Memory is one anonymous mapping outside
// the Go heap, cut into 1 MB segments; -m (and cache_memlimit) bounds the
// segments in use. Items are appended to a segment one after another, with
// no alignment and no size classes, so an item costs its header, key and
// value and nothing more (item.go has the layout: a 22-byte header with the
// CAS, 4 bytes more when the client's flags are not 0). Segments are chained
// in TTL buckets (segment.go): items whose expiries fall in the same span of
// seconds share segments, and a segment whose latest expiry has passed is
// freed whole, its items unindexed without a search (expire.go). An item
// larger than a segment, up to -I 1g, gets a run of contiguous segments of
// its own.
//
// The index (index.go) is 64 shards of open-addressing tables of 8-byte
// slots, mapped outside the heap too: a slot holds the item's arena offset,
// 20 bits of its key's hash (so that keys are told apart, and their home
// found, without reading them) and its read frequency. Nothing the garbage
// collector scans grows with the number of items.
//
// Eviction (evict.go) is merge-based: when no segment is free, four of the
// oldest segments of one TTL bucket (those with the fewest live bytes) are
// merged into one new segment at the chain's newest end, keeping the items read most since they were written
// or last merged (as many as fill it) and evicting the rest; replaced and
// deleted items cost nothing to drop. There is no per-item LRU list, and
// nothing for reads to update but the item's slot and header under its
// shard's lock. Under a zipfian load twice the memory limit it misses
// 0.97-0.99x as often as memcached's LRU with 100-byte and 4 KB values,
// 1.08x with mixed ones (bench/results/missratio-v2.md): a replaced item's
// old copy holds its room until its segment is merged.
//
// memcached's slab classes have no meaning here, but its tools read them:
// every item is counted in the class memcached would give it (the same
// chunk sizes, from -n and -f, for memcached's item size: key, value and
// 59 bytes), so stats items, stats slabs and the cachedump keep their
// meaning; a class's pages are those memcached would have taken for the
// most items it held. There are no pages to move: slabs reassign answers
// as memcached does when the source has none to spare, and the automove
// settings are kept and reported only.
//
// Measured against memcached 1.6.18 for the same items (make bench-memory;
// bench/results/memory-v2.md, README "Memory and misses against
// memcached"): resident memory 0.72-0.97x memcached's at a million items,
// but 0.89-1.39x at 100k, where the process's own 16.6 MB (11.8 MB above
// memcached's, the binary's pages mapped from the page cache) dominates:
// geometric mean 0.958 over the sweep (v1: 1.019), 0.824 counting
// anonymous memory only. The engine alone, v1 beside v2 before v1
// was deleted: bench/results/engine-v1-v2.md.
//
// Files are named by operation: get, set, arith, delete, alloc (appending
// items), expire (liveness, flushes and segment expiry), evict, crawl
// (freeing items that die alone), walk (reading a segment item by item),
// dump (listings), stats and control (the slab commands).
//
// Locking: an item is guarded by its shard's lock (its slot and header
// fields but its sizes); a TTL bucket's lock guards appends to its active
// segment; segMu guards the free segments, the chains and their
// bookkeeping, and is taken last. Whoever frees segments (eviction, expiry,
// the crawler, the listings) holds evictMu, then takes shard locks one at a
// time. An allocation made with a shard lock held (append, a counter that
// grows, a vivifying read) only try-locks evictMu and other shards, as it
// must not wait for an evictor that waits for its shard.
package store
