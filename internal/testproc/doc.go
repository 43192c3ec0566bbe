// Package testproc runs real processes for tests: it builds the shoal
// binary once, starts shoal and memcached processes on loopback and waits
// until they accept connections, and finds free ports.
//
// Every process is killed when the test that started it ends, and its
// output logged if the test failed. A test binary that builds shoal removes
// it at the end when its TestMain is
//
//	func TestMain(m *testing.M) { testproc.Main(m) }
package testproc
