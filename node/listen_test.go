package node

import (
	"bufio"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestWithPort(t *testing.T) {
	for entry, want := range map[string]string{
		"127.0.0.1":        "127.0.0.1:11211",
		"127.0.0.1:11300":  "127.0.0.1:11300",
		"localhost":        "localhost:11211",
		"[::1]:11300":      "[::1]:11300",
		"[::1]":            "[::1]:11211",
		"::1":              "[::1]:11211",
		"fe80::1:2":        "[fe80::1:2]:11211",
		"0.0.0.0":          "0.0.0.0:11211",
		"cache.example:80": "cache.example:80",
	} {
		if got := withPort(entry, 11211); got != want {
			t.Errorf("withPort(%q) = %q, want %q", entry, got, want)
		}
	}
}

// ask sends a command line on a new connection to network addr and returns
// the reply: one line, or the lines up to END.
func ask(t *testing.T, network, addr, cmd string) string {
	t.Helper()
	nc, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(nc)
	var reply string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s on %s: %v (got %q)", cmd, addr, err, reply)
		}
		reply += line
		if !strings.HasPrefix(line, "STAT ") {
			return reply
		}
	}
}

// A node listens on every -l address, each at -p unless it names a port.
func TestListenOnSeveralAddresses(t *testing.T) {
	s, _ := StartTestServer(t, func(c *Config) { c.Listen = []string{"127.0.0.1", "127.0.0.2:0", "127.0.0.3"} })
	addrs := s.Addrs()
	if len(addrs) != 3 {
		t.Fatalf("listening on %v, want 3 addresses", addrs)
	}
	for i, a := range addrs {
		ip := a.(*net.TCPAddr).IP.String()
		if want := "127.0.0." + string(rune('1'+i)); ip != want {
			t.Errorf("listener %d on %s, want %s", i, a, want)
		}
		if got := ask(t, "tcp", a.String(), "version"); got != "VERSION "+ProtocolVersion+"\r\n" {
			t.Errorf("version on %s: %q", a, got)
		}
	}
}

// A listen address that cannot be bound fails Listen and releases the
// addresses bound before it.
func TestListenFailureReleasesTheOthers(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	first := free.Addr().String()
	free.Close()
	cfg := DefaultConfig()
	cfg.Listen = []string{first, busy.Addr().String()}
	s, err := NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	if err := s.Listen(); err == nil || !strings.Contains(err.Error(), "listening on "+busy.Addr().String()) {
		t.Fatalf("Listen: %v, want a failure on %s", err, busy.Addr())
	}
	ln, err := net.Listen("tcp", first)
	if err != nil {
		t.Fatalf("%s still bound after the failed Listen: %v", first, err)
	}
	ln.Close()
}

// -s serves on a UNIX socket, with the -a access mode, replacing a stale
// socket file; stats conns names it as memcached does.
func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shoal.sock")
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	s, _ := StartTestServer(t, func(c *Config) { c.UnixSocket, c.UnixMask = path, 0o760 })
	if s.Addr() != nil {
		t.Errorf("TCP address %v beside -s", s.Addr())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&fs.ModeSocket == 0 || st.Mode().Perm() != 0o760 {
		t.Errorf("socket mode %v, want a socket with 0760", st.Mode())
	}
	if got := ask(t, "unix", path, "version"); got != "VERSION "+ProtocolVersion+"\r\n" {
		t.Errorf("version over the socket: %q", got)
	}
	// Connection numbers depend on the connections before (the one above
	// may not be gone yet): the line of this connection is what counts.
	want := regexp.MustCompile(`STAT (\d+):addr unix:\r\nSTAT (\d+):listen_addr unix:` + regexp.QuoteMeta(path) + "\r\n")
	if got := ask(t, "unix", path, "stats conns"); !want.MatchString(got) {
		t.Errorf("stats conns: %q, want a connection on %s", got, path)
	}
}
