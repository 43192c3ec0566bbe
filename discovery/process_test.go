package discovery

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// Helpers for the tests that run real shoal processes: talking memcached
// to them and waiting for them.

func TestMain(m *testing.M) { testproc.Main(m) }

// dialFunc connects to a memcached address: on loopback, or inside a
// network namespace a test made.
type dialFunc func(addr string) (net.Conn, error)

func dialLoopback(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }

// exchange sends req to addr and returns every byte of the reply. It sends
// "version" after req and cuts the reply at the VERSION line, so that any
// stray byte after a reply would show.
func exchange(addr, req string) ([]byte, error) { return exchangeVia(dialLoopback, addr, req) }

func exchangeVia(dial dialFunc, addr, req string) ([]byte, error) {
	conn, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(req + "version\r\n")); err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	var out []byte
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("reading reply to %q from %s: %w (got %q)", req, addr, err, out)
		}
		if bytes.HasPrefix(line, []byte("VERSION ")) {
			return out, nil
		}
		out = append(out, line...)
		if len(out) > 1<<20 {
			return nil, fmt.Errorf("reply to %q from %s too long", req, addr)
		}
	}
}

// waitFor polls check every 50ms until it returns nil or within passes;
// it returns the time it took.
func waitFor(t *testing.T, within time.Duration, what string, check func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := check()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v: %v", what, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
