package client

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/protocol"
)

// A server is a real memcached process listening on loopback.
type server struct {
	addr string
	proc *testproc.Proc
}

// startMemcached starts a memcached on a free loopback port and stops it when
// the test ends.
func startMemcached(t testing.TB) *server {
	t.Helper()
	p := testproc.StartMemcached(t, "-m", "64", "-t", "2", "-c", "1024")
	return &server{addr: p.Addr, proc: p}
}

// kill stops the server at once (SIGKILL), as a crash would.
func (s *server) kill() { s.proc.Kill() }

// restart starts the server again on the same address, empty.
func (s *server) restart() { s.proc.Restart() }

// pause stops the server process (SIGSTOP): it accepts connections and
// answers nothing, like a hung node. It waits until the kernel says the
// process is stopped: SIGSTOP is delivered asynchronously, and a request
// sent before it lands is still answered. resume lets it go on.
func (s *server) pause() {
	s.proc.Signal(syscall.SIGSTOP)
	stat := fmt.Sprintf("/proc/%d/stat", s.proc.Cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(stat)
		// The state follows the command name in parentheses: "pid (comm) T ...".
		if i := bytes.LastIndexByte(b, ')'); err == nil && i >= 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
	}
}
func (s *server) resume() { s.proc.Signal(syscall.SIGCONT) }

// testTimeout is the socket timeout of the tests' clients: long, because a
// timeout marks a node down and the machine running the tests may be busy.
const testTimeout = 3 * time.Second

// direct is a plain gomemcache client of this server alone, to see what it
// holds.
func (s *server) direct() *memcache.Client {
	c := memcache.New(s.addr)
	c.Timeout = testTimeout
	return c
}

func startMemcacheds(t testing.TB, n int) []*server {
	s := make([]*server, n)
	for i := range s {
		s[i] = startMemcached(t)
	}
	return s
}

func addrs(servers []*server) []string {
	a := make([]string, len(servers))
	for i, s := range servers {
		a[i] = s.addr
	}
	return a
}

// listOf is a shoal-cluster list of servers at positions 0..n-1.
func listOf(version uint64, servers []*server) protocol.ClusterConfig {
	cfg := protocol.ClusterConfig{Version: version}
	for i, s := range servers {
		host, port, _ := net.SplitHostPort(s.addr)
		p, _ := strconv.Atoi(port)
		cfg.Nodes = append(cfg.Nodes, protocol.ClusterNode{
			Host: "localhost", IP: host, Port: p, Position: i, State: protocol.StateActive,
		})
	}
	return cfg
}

// newStatic is a client of a static list of servers, closed when the test
// ends.
func newStatic(t testing.TB, servers []*server, tune func(*Config)) *Client {
	t.Helper()
	cfg := Config{Servers: addrs(servers), ProbeInterval: 50 * time.Millisecond, Timeout: testTimeout}
	if tune != nil {
		tune(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ownerAddr is the address of key's owner in the client's current ring.
func ownerAddr(c *Client, key string) string {
	n := c.cur.Load().owner(key)
	if n == nil {
		return ""
	}
	return n.String()
}

// waitFor polls cond every 10ms for at most d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
