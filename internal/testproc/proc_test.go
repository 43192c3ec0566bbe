package testproc

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

func TestMain(m *testing.M) { Main(m) }

func newClient(t *testing.T, addr string) *memcache.Client {
	c := memcache.New(addr)
	c.Timeout = 5 * time.Second
	t.Cleanup(func() { c.Close() })
	return c
}

// TestServers starts each kind of server, restarts it empty on its address
// and kills it.
func TestServers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(*testing.T) *Proc
	}{
		{"memcached", func(t *testing.T) *Proc { return StartMemcached(t) }},
		{"shoal", func(t *testing.T) *Proc { return StartShoal(t, "node", "-m", "8") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.start(t)
			if host, _, _ := net.SplitHostPort(p.Addr); host != "127.0.0.1" {
				t.Errorf("listening on %s, want 127.0.0.1", p.Addr)
			}
			c := newClient(t, p.Addr)
			if err := c.Set(&memcache.Item{Key: "k", Value: []byte("x"), Flags: 7}); err != nil {
				t.Fatalf("set: %v", err)
			}
			if it, err := c.Get("k"); err != nil || string(it.Value) != "x" || it.Flags != 7 {
				t.Fatalf("get: %+v, %v", it, err)
			}
			addr := p.Addr
			p.Restart()
			if p.Addr != addr {
				t.Errorf("restarted on %s, was %s", p.Addr, addr)
			}
			c = newClient(t, p.Addr) // the old one's connection went with the old process
			if it, err := c.Get("k"); err != memcache.ErrCacheMiss {
				t.Fatalf("get after restart: %+v, %v; want a miss", it, err)
			}
			p.Kill()
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections once killed", addr)
			}
		})
	}
}

func TestShoalBinaryOnce(t *testing.T) {
	a, b := ShoalBinary(t), ShoalBinary(t)
	if a != b {
		t.Fatalf("built twice: %s, %s", a, b)
	}
	if fi, err := os.Stat(a); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("%s: %v, %v", a, fi, err)
	}
}

func TestExitBeforeListening(t *testing.T) {
	p := &Proc{Name: "sh", Addr: FreeAddr(t), tb: t, bin: "/bin/sh",
		args: []string{"-c", "echo cannot bind; exit 3"}, out: &output{}}
	err := p.launchListening()
	if err == nil || !strings.Contains(err.Error(), "exited before listening") ||
		!strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "cannot bind") {
		t.Fatalf("launchListening: %v", err)
	}
}

func TestSignalWait(t *testing.T) {
	p := Start(t, "sleep", "/bin/sleep", "60")
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(t, 10*time.Second); err == nil || err.Error() != "signal: terminated" {
		t.Fatalf("exit status %v, want signal: terminated", err)
	}
	p.Signal(syscall.SIGKILL) // a no-op once exited
	p.Kill()
	if err := p.Err(); err == nil || err.Error() != "signal: terminated" {
		t.Fatalf("exit status %v after Kill, want signal: terminated", err)
	}
}

func TestOutput(t *testing.T) {
	p := Start(t, "sh", "/bin/sh", "-c", "echo out; echo err >&2")
	if err := p.Wait(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := p.Output(); got != "out\nerr\n" {
		t.Fatalf("output %q", got)
	}
}
