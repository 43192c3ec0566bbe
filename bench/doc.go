// Package bench is a load generator for memcached-protocol servers, in the
// spirit of memtier_benchmark and mc-crusher.
//
// A run opens a number of workers; each worker is one goroutine holding one
// TCP connection to every target server and drives them with pipelined
// batches: it writes a batch of requests, flushes, then reads the replies in
// order. Keys are spread over the servers by a hash of the key, as a client
// would spread them. The key space can be filled first (warm-up) so that gets
// hit. Latency is recorded per request in HDR histograms, from the moment its
// batch starts being written to the moment its last reply has been read.
//
// A server that fails under load fails the requests sent to it, which are
// counted apart (never as misses); the worker dials it again with backoff
// and goes on, and the Result tells per server what failed and when.
//
// With Verify set, every value written carries its key and a CRC-32C of
// itself, and every value read back is checked: a cache may miss, but a value
// returned for a key must be one that was written under that key.
//
// The text, meta and binary protocols are spoken by small encoders and
// decoders of this package's own (client side only); the cluster
// configuration an endpoint publishes is read with package protocol.
package bench
