package node_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node"
)

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// With an allow list, a client from elsewhere is closed before a byte is
// exchanged, and counted; a client from a listed network is served.
func TestAllowList(t *testing.T) {
	allow, err := node.ParseAllow([]string{"127.0.0.2", "127.0.1.0/24"})
	if err != nil || len(allow) != 2 || allow[0] != netip.MustParsePrefix("127.0.0.2/32") {
		t.Fatalf("ParseAllow: %v %v", allow, err)
	}
	addr := node.StartTestNode(t, func(c *node.Config) { c.Allow = allow })
	for _, src := range []string{"127.0.0.1", "127.0.0.3", "127.0.2.1"} {
		nc := dialFrom(t, src, addr)
		_, _ = io.WriteString(nc, "version\r\n")
		_ = nc.SetReadDeadline(time.Now().Add(3 * time.Second))
		// Closed with the request unread, the kernel may answer with a reset.
		if b, err := io.ReadAll(nc); len(b) != 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("from %s: read %q, %v; want the connection closed without a word", src, b, err)
		}
		nc.Close()
	}
	for _, src := range []string{"127.0.0.2", "127.0.1.77"} {
		nc := dialFrom(t, src, addr)
		_ = nc.SetDeadline(time.Now().Add(3 * time.Second))
		_, _ = io.WriteString(nc, "stats\r\n")
		buf := make([]byte, 8192)
		n, err := io.ReadAtLeast(nc, buf, 5)
		nc.Close()
		if err != nil || string(buf[:5]) != "STAT " {
			t.Fatalf("from %s: %q, %v", src, buf[:n], err)
		}
		if src == "127.0.0.2" && !strings.Contains(string(buf[:n]), "STAT allow_refused 3\r\n") {
			t.Errorf("stats do not count 3 refused connections:\n%s", buf[:n])
		}
	}
	if _, err := node.ParseAllow([]string{"not-a-network"}); err == nil {
		t.Error("a bad network was accepted")
	}
}
