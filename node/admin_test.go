package node

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node/internal/conformance"
	"github.com/shoal-cache/shoal/protocol"
)

// memcached's -F, byte for byte: flush_all over text and binary is refused
// and counted, and the item stays.
func TestDisableFlushAllMatchesMemcached(t *testing.T) {
	shoal := StartTestNode(t, func(c *Config) { c.DisabledCommands = []string{"flush_all"} })
	mc := conformance.Memcached(t, "-F")
	conformance.Check(t, []conformance.Peer{{Name: "shoal", Addr: shoal}, {Name: "memcached", Addr: mc}},
		conformance.Exact, []binCase{{name: "binary flush under -F", steps: []binStep{binStepOf(
			binSetReq("f", "v"),
			binMsg(protocol.OpFlush, "", "", ""),
			binMsg(protocol.OpFlushQ, "", "", ""),
			binGetReq("f"),
		)}}})
	text := "set g 0 0 1\r\nx\r\nflush_all\r\nflush_all 0\r\nflush_all noreply\r\nget g\r\n"
	want := "STORED\r\nCLIENT_ERROR flush_all not allowed\r\nCLIENT_ERROR flush_all not allowed\r\nVALUE g 0 1\r\nx\r\nEND\r\n"
	for _, addr := range []string{shoal, mc} {
		if got := textExchange(t, addr, text, "END\r\n"); got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
}

// Any administrative command can be switched off; the others still run.
func TestDisabledCommands(t *testing.T) {
	_, addr := StartTestServer(t, func(c *Config) {
		c.DisabledCommands = []string{"cache_memlimit", "verbosity", "shutdown", "slabs"}
		c.EnableShutdown = true
	})
	got := textExchange(t, addr, "cache_memlimit 100\r\nverbosity 1\r\nverbosity 1 noreply\r\nshutdown\r\nslabs automove 1\r\nflush_all\r\n", "OK\r\n")
	want := "CLIENT_ERROR cache_memlimit not allowed\r\nCLIENT_ERROR verbosity not allowed\r\nCLIENT_ERROR shutdown not allowed\r\nCLIENT_ERROR slabs not allowed\r\nOK\r\n"
	if got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	cfg := DefaultConfig()
	cfg.DisabledCommands = []string{"get"}
	if err := cfg.Validate(); err == nil {
		t.Fatal("disabling get was accepted")
	}
}

// textExchange sends req on a new connection to addr and reads until the
// replies end with last.
func textExchange(t *testing.T, addr, req, last string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 4096)
	for !strings.HasSuffix(string(out), last) {
		n, err := nc.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			t.Fatalf("after %q: %v", out, err)
		}
	}
	return string(out)
}
