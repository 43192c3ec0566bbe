// Package chaos holds the cluster's chaos test: a real configuration
// endpoint and real nodes, driven through the real Go client by workers
// whose values carry their key, a sequence number and a checksum, while the
// test kills, restarts, stops and resumes, adds and removes nodes and loses
// the endpoint. It counts wrong values (never allowed), stale reads (a read
// older than the last acknowledged write of that key; none allowed once an
// event has settled), errors and their window, and hit ratios, per event.
//
// The package has no code of its own outside its tests; the test runs in
// `make test` and is skipped by `go test -short`.
package chaos
