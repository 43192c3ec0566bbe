package node_test

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// rawExchange writes req on a new connection to addr and reads until the
// server closes it or stays silent for quiet; it returns the bytes read and
// whether the server closed the connection.
func rawExchange(t *testing.T, addr, req string, quiet time.Duration) (string, bool) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 4096)
	for {
		_ = nc.SetReadDeadline(time.Now().Add(quiet))
		n, err := nc.Read(buf)
		got = append(got, buf[:n]...)
		switch {
		case errors.Is(err, io.EOF):
			return string(got), true
		case errors.Is(err, os.ErrDeadlineExceeded):
			return string(got), false
		case err != nil:
			t.Fatalf("reading from %s: %v", addr, err)
		}
	}
}

// binaryVersion is a binary protocol version request.
const binaryVersion = "\x80\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// -B ascii reads everything as text lines, -B binary everything as binary
// headers (waiting for a whole one, closing on a wrong magic), as memcached
// does.
func TestBindingProtocolMatchesMemcached(t *testing.T) {
	ascii := []peer{
		{"shoal", node.StartTestNode(t, func(c *node.Config) { c.Protocol = "ascii" })},
		{"memcached", conformance.Memcached(t, "-B", "ascii")},
	}
	binary := []peer{
		{"shoal", node.StartTestNode(t, func(c *node.Config) { c.Protocol = "binary" })},
		{"memcached", conformance.Memcached(t, "-B", "binary")},
	}
	for _, tt := range []struct {
		name   string
		peers  []peer
		req    string
		want   string
		closed bool
	}{
		{"ascii: a binary request is a bad text line", ascii, binaryVersion + "\r\nversion\r\n", "ERROR\r\nVERSION <v>\r\n", false},
		{"binary: a short text line waits for a header", binary, "version\r\n", "", false},
		{"binary: a text header closes", binary, "version\r\nversion\r\nversion\r\n", "", true},
		{"binary: binary is served", binary, binaryVersion, "\x81\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00<v>", false},
	} {
		for _, p := range tt.peers {
			got, closed := rawExchange(t, p.addr, tt.req, 500*time.Millisecond)
			if got = versionless(got); got != tt.want || closed != tt.closed {
				t.Errorf("%s, %s: %q (closed %v), want %q (closed %v)", tt.name, p.name, got, closed, tt.want, tt.closed)
			}
		}
	}
}

// versionless replaces the version, the one word that differs, with <v>.
func versionless(s string) string {
	for _, v := range []string{node.ProtocolVersion, "1.6.18"} {
		s = strings.ReplaceAll(s, "VERSION "+v+"\r\n", "VERSION <v>\r\n")
		if rest, ok := strings.CutSuffix(s, "\x00"+v); ok { // a binary version reply's body
			s = rest + "\x00<v>"
		}
	}
	return s
}

// -o idle_timeout closes a connection that waits longer for a command, and
// not one that keeps sending, as memcached does.
func TestIdleTimeoutMatchesMemcached(t *testing.T) {
	peers := []peer{
		{"shoal", node.StartTestNode(t, func(c *node.Config) { c.IdleTimeout = time.Second })},
		{"memcached", conformance.Memcached(t, "-o", "idle_timeout=1")},
	}
	for _, p := range peers {
		idle, busy := dialT(t, p.addr), dialT(t, p.addr)
		start := time.Now()
		for time.Since(start) < 2500*time.Millisecond {
			if got := callT(t, busy, "version\r\n"); got != "VERSION <v>\r\n" {
				t.Fatalf("%s: a busy connection got %q", p.name, got)
			}
			time.Sleep(300 * time.Millisecond)
		}
		_ = idle.SetReadDeadline(time.Now().Add(3 * time.Second))
		if n, err := idle.Read(make([]byte, 16)); !errors.Is(err, io.EOF) {
			t.Errorf("%s: idle connection still open after %v (read %d, %v)", p.name, time.Since(start), n, err)
		}
	}
}

func dialT(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// callT sends a request and reads one reply (one read), version-normalised.
func callT(t *testing.T, nc net.Conn, req string) string {
	t.Helper()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := nc.Read(buf)
	if err != nil {
		t.Fatalf("reading the reply to %q: %v", req, err)
	}
	return versionless(string(buf[:n]))
}
