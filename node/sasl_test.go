package node

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/node/internal/conformance"
	"github.com/shoal-cache/shoal/protocol"
)

// saslFiles writes shoal's credentials file, and for memcached a Cyrus
// SASL configuration limited to PLAIN with the same user in a sasldb made
// by saslpasswd2 (Debian's memcached does not read MEMCACHED_SASL_PWDB),
// all readable by nobody.
func saslFiles(t *testing.T) (pwdb, confDir string) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pwdb = filepath.Join(dir, "pwdb")
	conf := filepath.Join(dir, "memcached.conf")
	if err := os.WriteFile(pwdb, []byte("alice:s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "sasldb2")
	if err := os.WriteFile(conf, []byte("mech_list: plain\nsasldb_path: "+db+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testproc.Tool(t, "saslpasswd2", "sasl2-bin"), "-p", "-a", "memcached", "-c", "-f", db, "alice")
	cmd.Stdin = strings.NewReader("s3cret")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("saslpasswd2: %v %s", err, out)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	return pwdb, dir
}

func saslAuth(mech, msg string) []byte { return binMsg(protocol.OpSASLAuth, mech, "", msg) }

// SASL PLAIN on the binary protocol, byte for byte beside memcached 1.6.18
// started with -S and the same credentials (MEMCACHED_SASL_PWDB).
func TestSASLMatchesMemcached(t *testing.T) {
	pwdb, confDir := saslFiles(t)
	t.Setenv("MEMCACHED_SASL_PWDB", pwdb)
	t.Setenv("SASL_CONF_PATH", confDir)
	shoal := StartTestNode(t, func(c *Config) { c.SASL, c.SASLFile = true, pwdb })
	mc := conformance.Memcached(t, "-S")
	cases := []binCase{
		{name: "mechanisms", steps: []binStep{binStepOf(binMsg(protocol.OpSASLListMechs, "", "", ""))}},
		{name: "version before authenticating", steps: []binStep{binStepOf(binMsg(protocol.OpVersion, "", "", ""))}},
		{name: "a get before authenticating closes", steps: []binStep{binClosing(binGetReq("k"))}},
		{name: "log in, then serve", steps: []binStep{binStepOf(
			saslAuth("PLAIN", "\x00alice\x00s3cret"), binSetReq("k", "v"), binGetReq("k"))}},
		{name: "authzid of the same user", steps: []binStep{binStepOf(saslAuth("PLAIN", "alice\x00alice\x00s3cret"))}},
		{name: "wrong password, then the right one", steps: []binStep{binStepOf(
			saslAuth("PLAIN", "\x00alice\x00wrong"), saslAuth("PLAIN", "\x00alice\x00s3cret"), binGetReq("k"))}},
		{name: "unknown user", steps: []binStep{binStepOf(saslAuth("PLAIN", "\x00mallory\x00s3cret"))}},
		{name: "step without a start", steps: []binStep{binStepOf(binMsg(protocol.OpSASLStep, "PLAIN", "", "\x00alice\x00s3cret"))}},
		{name: "mechanism name too long", steps: []binStep{binStepOf(saslAuth(string(make([]byte, 40)), "x"), binMsg(protocol.OpVersion, "", "", ""))}},
	}
	// The text protocol is closed: once memcached has a header's 24 bytes
	// (shoal at the first byte).
	for _, addr := range []string{shoal, mc} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(nc, "get one two three four\r\n")
		_ = nc.SetReadDeadline(time.Now().Add(3 * time.Second))
		if b, err := io.ReadAll(nc); len(b) != 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: text with SASL on: %q, %v", addr, b, err)
		}
		nc.Close()
	}
	conformance.Check(t, []conformance.Peer{{Name: "shoal", Addr: shoal}, {Name: "memcached", Addr: mc}},
		conformance.Exact, cases)
}
