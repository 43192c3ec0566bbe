package node_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// authFile writes a credentials file memcached, which runs as nobody, can
// read, and returns its path.
func authFile(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // the test's temporary root is private
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "auth")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// exchange makes each write on a new connection to addr and returns every
// byte the server sent and whether it closed the connection.
func exchange(addr string, writes []string) (string, bool, error) {
	s, err := conformance.Dial(addr)
	if err != nil {
		return "", false, err
	}
	defer s.Close()
	return quietExchange(s, writes)
}

// quietExchange makes each write on s, waiting after each until the server
// has been quiet for a moment (a barrier would be answered unauthenticated).
func quietExchange(s *conformance.Session, writes []string) (string, bool, error) {
	var out []byte
	for _, w := range writes {
		if err := s.Send([]byte(w)); err != nil {
			return string(out), false, err
		}
		got, end, _ := s.AwaitQuiet(250 * time.Millisecond)
		out = append(out, got...)
		if end != conformance.Silent {
			return string(out), true, nil
		}
	}
	return string(out), false, nil
}

// authCase is an exchange on a new connection and the replies to it.
type authCase struct {
	name   string
	writes []string
	want   string
}

func (c authCase) Name() string { return c.name }

func (c authCase) Want() []string { return []string{c.want} }

func (c authCase) Run(s *conformance.Session) ([]string, error) {
	got, closed, err := quietExchange(s, c.writes)
	return []string{got + closedNote(closed)}, err
}

// memcached's ASCII authentication (-Y), byte for byte: each exchange on a
// new connection to shoal and to memcached 1.6.18 started with the same
// credentials file.
func TestASCIIAuthMatchesMemcached(t *testing.T) {
	path := authFile(t, "alice:s3cret\nbob:hunter2\n")
	peers := []peer{
		{"shoal", node.StartTestNode(t, func(c *node.Config) { c.AuthFile = path })},
		{"memcached", conformance.Memcached(t, "-Y", path)},
	}
	binaryGet := "\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00a"
	cases := []authCase{
		{"commands before authenticating", []string{"get foo\r\n", "version\r\n", "flush_all\r\n", "stats\r\n"},
			strings.Repeat("CLIENT_ERROR unauthenticated\r\n", 4)},
		{"log in, then serve", []string{"set auth 0 0 12\r\nalice s3cret\r\n", "set k 0 0 1\r\nx\r\n", "get k\r\n", "flush_all\r\n"},
			"STORED\r\nSTORED\r\nVALUE k 0 1\r\nx\r\nEND\r\nOK\r\n"},
		{"another user", []string{"set u 1 2 11\r\nbob hunter2\r\n", "get u\r\n"}, "STORED\r\nEND\r\n"},
		{"wrong password, then the right one", []string{"set a 0 0 12\r\nalice wrong!\r\n", "get a\r\n", "set a 0 0 12\r\nalice s3cret\r\n"},
			"CLIENT_ERROR authentication failure\r\nCLIENT_ERROR unauthenticated\r\nSTORED\r\n"},
		{"an unknown user", []string{"set a 0 0 9\r\nmallory x\r\n"}, "CLIENT_ERROR authentication failure\r\n"},
		{"one token", []string{"set a 0 0 2\r\nab\r\n", "version\r\n"},
			"CLIENT_ERROR bad authentication token format\r\nCLIENT_ERROR unauthenticated\r\n"},
		{"data not ended by CRLF", []string{"set a 0 0 12\r\nalice s3cretXX"}, "CLIENT_ERROR bad command line termination\r\n"},
		{"a size that is no number", []string{"set a 0 0 x\r\n"}, "CLIENT_ERROR unauthenticated\r\n"},
		{"too few tokens", []string{"set a 0 12\r\n"}, "CLIENT_ERROR unauthenticated\r\n"},
		{"extra credential tokens are ignored", []string{"set a 0 0 14\r\nalice s3cret x\r\n"}, "STORED\r\n"},
		{"noreply is answered all the same", []string{"set a 0 0 12 noreply\r\nalice s3cret\r\n", "get a\r\n"}, "STORED\r\nEND\r\n"},
		{"the binary protocol is read as text", []string{binaryGet, "\r\n"}, "CLIENT_ERROR unauthenticated\r\n"},
		{"a password with a prefix of the right one", []string{"set a 0 0 11\r\nalice s3cre\r\n"}, "CLIENT_ERROR authentication failure\r\n"},
	}
	checkCases(t, peers, cases)
	for _, p := range peers {
		st := statsOf(t, p.addr, "set a 0 0 12\r\nalice s3cret\r\n")
		if st["auth_cmds"] != "9" || st["auth_errors"] != "3" {
			t.Errorf("%s: auth_cmds %s auth_errors %s, want 9 and 3", p.name, st["auth_cmds"], st["auth_errors"])
		}
	}
}

// statsOf sends prefix (to log in, say) and `stats` on a new connection and
// returns the general stats.
func statsOf(t *testing.T, addr, prefix string) map[string]string {
	t.Helper()
	out, _, err := exchange(addr, []string{prefix + "stats\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(out, "\r\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "STAT" {
			m[f[1]] = f[2]
		}
	}
	return m
}

// The credentials file is read again on ReloadAuth (SIGHUP): new
// credentials work at once on new connections, connections already
// authenticated stay so, and a broken file keeps the credentials in use.
func TestASCIIAuthReload(t *testing.T) {
	path := authFile(t, "alice:old\n")
	srv, addr := node.StartTestServer(t, func(c *node.Config) { c.AuthFile = path })
	login := func(user, pass string) string {
		out, _, err := exchange(addr, []string{"set a 0 0 " + itoa(len(user)+1+len(pass)) + "\r\n" + user + " " + pass + "\r\n"})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	const stored, refused = "STORED\r\n", "CLIENT_ERROR authentication failure\r\n"
	if got := login("alice", "old"); got != stored {
		t.Fatalf("login before reload: %q", got)
	}
	if err := os.WriteFile(path, []byte("alice:new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := srv.ReloadAuth(); err != nil {
		t.Fatal(err)
	}
	if got := login("alice", "old"); got != refused {
		t.Errorf("old password after reload: %q", got)
	}
	if got := login("alice", "new"); got != stored {
		t.Errorf("new password after reload: %q", got)
	}
	if err := os.WriteFile(path, []byte("garbage without a colon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := srv.ReloadAuth(); err == nil {
		t.Error("a malformed file reloaded without error")
	}
	if got := login("alice", "new"); got != stored {
		t.Errorf("after a failed reload, the credentials in use: %q", got)
	}
}

// Wrong passwords at a high rate cost the node nothing it keeps: each is
// answered, and other clients are served meanwhile.
func TestASCIIAuthFlood(t *testing.T) {
	path := authFile(t, "alice:s3cret\n")
	addr := node.StartTestNode(t, func(c *node.Config) { c.AuthFile = path })
	const tries = 5000
	flood := strings.Repeat("set a 0 0 12\r\nalice wrong!\r\n", tries)
	out, closed, err := exchange(addr, []string{flood})
	if err != nil || closed || out != strings.Repeat("CLIENT_ERROR authentication failure\r\n", tries) {
		t.Fatalf("flood: %d bytes back (closed %v, %v)", len(out), closed, err)
	}
	out, _, err = exchange(addr, []string{"set a 0 0 12\r\nalice s3cret\r\nversion\r\n"})
	if err != nil || !strings.HasPrefix(out, "STORED\r\nVERSION ") {
		t.Fatalf("a client after the flood: %q, %v", out, err)
	}
	// An oversized credentials block is skipped without being buffered.
	big := "set a 0 0 100000000\r\n" + strings.Repeat("x", 1<<20)
	if out, closed, err := exchange(addr, []string{big}); err != nil || closed || out != "CLIENT_ERROR authentication failure\r\n" {
		t.Fatalf("oversized credentials: %q (closed %v, %v)", out, closed, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
