// Package status gathers what an operator asks of a cluster first: every
// node listed by the configuration endpoint, with its position and state,
// and from each node's own stats its items, memory, hit ratio, request
// rate, connections, evictions and p99 latency. `shoal status` prints it.
//
// It speaks only the protocols a memcached client speaks (config get, stats
// and shoal's stats latency), so it needs no port beyond the cache's own.
package status
