// Package protocol reads and writes the memcached wire protocols: the text
// protocol, the meta commands and the binary protocol of memcached 1.6, and
// the cluster configuration that ElastiCache-compatible auto-discovery
// publishes.
//
// It knows nothing of storage or sockets: parsers work on byte slices that a
// server or client has already read, without allocating, and formatters append
// to a caller's buffer. Parsers never trust a length a peer declares; the
// caller decides how much it is willing to read.
package protocol

// BinaryRequestMagic is the first byte of every binary-protocol request; a
// server tells the binary protocol from the text one by it.
const BinaryRequestMagic = 0x80
