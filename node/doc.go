// Package node is a shoal cache node: a memcached-compatible server over
// the storage engine of node/internal/store. It parses and answers the
// text, meta and binary protocols, maps each command to one engine call,
// and reports the engine's counters as memcached's stats.
package node
