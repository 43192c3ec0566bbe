package node_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// End-to-end tests: the real shoal binary, started as a process the way a
// user starts it, driven by real memcached clients.

func TestMain(m *testing.M) { testproc.Main(m) }

// startShoalProc runs `shoal node -l 127.0.0.1 -p PORT args...` until the
// test ends.
func startShoalProc(t *testing.T, args ...string) *testproc.Proc {
	t.Helper()
	return testproc.StartShoal(t, append([]string{"node"}, args...)...)
}

func TestE2EMemccapable(t *testing.T) {
	testproc.Tool(t, "memccapable", "libmemcached-tools")
	p := startShoalProc(t)
	host, port, _ := net.SplitHostPort(p.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "memccapable", "-a", "-t", "5", "-h", host, "-p", port).CombinedOutput()
	if err != nil {
		t.Errorf("memccapable -a: %v", err)
	}
	if !bytes.Contains(out, []byte("All tests passed")) || bytes.Contains(out, []byte("[FAIL]")) {
		t.Errorf("memccapable -a did not pass:\n%s", out)
	}
	if n := bytes.Count(out, []byte("[pass]")); n < 20 {
		t.Errorf("memccapable ran only %d tests:\n%s", n, out)
	}
}

func TestE2EGomemcache(t *testing.T) {
	p := startShoalProc(t)
	c := memcache.New(p.Addr)
	c.Timeout = 5 * time.Second
	defer c.Close()

	check := func(what string, got, want error) {
		t.Helper()
		if !errors.Is(got, want) && (got == nil || want == nil || got.Error() != want.Error()) {
			t.Errorf("%s: error %v, want %v", what, got, want)
		}
	}
	value := func(key, want string, flags uint32) *memcache.Item {
		t.Helper()
		it, err := c.Get(key)
		if err != nil {
			t.Errorf("Get(%q): %v", key, err)
			return nil
		}
		if string(it.Value) != want || it.Flags != flags || it.Key != key {
			t.Errorf("Get(%q) = %q flags %d, want %q flags %d", key, it.Value, it.Flags, want, flags)
		}
		return it
	}

	check("Ping", c.Ping(), nil)
	check("Set", c.Set(&memcache.Item{Key: "k1", Value: []byte("v1"), Flags: 42}), nil)
	value("k1", "v1", 42)
	_, err := c.Get("missing")
	check("Get missing", err, memcache.ErrCacheMiss)
	check("Set empty", c.Set(&memcache.Item{Key: "empty", Value: []byte{}}), nil)
	value("empty", "", 0)
	bin := []byte("a\r\nb\x00\xff")
	check("Set binary", c.Set(&memcache.Item{Key: "bin", Value: bin}), nil)
	value("bin", string(bin), 0)

	check("Set k2", c.Set(&memcache.Item{Key: "k2", Value: []byte("v2"), Flags: 7}), nil)
	m, err := c.GetMulti([]string{"k1", "k2", "missing"})
	check("GetMulti", err, nil)
	if len(m) != 2 || string(m["k1"].Value) != "v1" || string(m["k2"].Value) != "v2" || m["k2"].Flags != 7 {
		t.Errorf("GetMulti = %v", m)
	}

	check("Add existing", c.Add(&memcache.Item{Key: "k1", Value: []byte("x")}), memcache.ErrNotStored)
	check("Add new", c.Add(&memcache.Item{Key: "k3", Value: []byte("v3")}), nil)
	value("k3", "v3", 0)
	check("Replace missing", c.Replace(&memcache.Item{Key: "nope", Value: []byte("x")}), memcache.ErrNotStored)
	check("Replace existing", c.Replace(&memcache.Item{Key: "k3", Value: []byte("v3b"), Flags: 3}), nil)
	value("k3", "v3b", 3)

	check("Append", c.Append(&memcache.Item{Key: "k1", Value: []byte("-tail")}), nil)
	check("Prepend", c.Prepend(&memcache.Item{Key: "k1", Value: []byte("head-")}), nil)
	value("k1", "head-v1-tail", 42)
	check("Append missing", c.Append(&memcache.Item{Key: "nope", Value: []byte("x")}), memcache.ErrNotStored)
	check("Prepend missing", c.Prepend(&memcache.Item{Key: "nope", Value: []byte("x")}), memcache.ErrNotStored)

	// CompareAndSwap with a stale unique conflicts; with a fresh one it
	// stores; on a deleted key it misses.
	stale := value("k2", "v2", 7)
	check("Set k2 again", c.Set(&memcache.Item{Key: "k2", Value: []byte("v2b")}), nil)
	if stale != nil {
		stale.Value = []byte("lost")
		check("CompareAndSwap stale", c.CompareAndSwap(stale), memcache.ErrCASConflict)
	}
	if fresh := value("k2", "v2b", 0); fresh != nil {
		fresh.Value = []byte("won")
		check("CompareAndSwap fresh", c.CompareAndSwap(fresh), nil)
		value("k2", "won", 0)
		check("Delete k2", c.Delete("k2"), nil)
		check("CompareAndSwap deleted", c.CompareAndSwap(fresh), memcache.ErrCacheMiss)
	}
	check("Delete again", c.Delete("k2"), memcache.ErrCacheMiss)

	check("Set counter", c.Set(&memcache.Item{Key: "n", Value: []byte("10")}), nil)
	if v, err := c.Increment("n", 5); v != 15 || err != nil {
		t.Errorf("Increment = %d, %v; want 15", v, err)
	}
	if v, err := c.Decrement("n", 100); v != 0 || err != nil {
		t.Errorf("Decrement below zero = %d, %v; want 0", v, err)
	}
	check("Set max", c.Set(&memcache.Item{Key: "max", Value: []byte("18446744073709551615")}), nil)
	if v, err := c.Increment("max", 2); v != 1 || err != nil {
		t.Errorf("Increment past 2^64-1 = %d, %v; want 1", v, err)
	}
	_, err = c.Increment("missing", 1)
	check("Increment missing", err, memcache.ErrCacheMiss)
	_, err = c.Decrement("missing", 1)
	check("Decrement missing", err, memcache.ErrCacheMiss)
	_, err = c.Increment("k1", 1)
	check("Increment non-numeric", err, errors.New("memcache: client error: cannot increment or decrement non-numeric value"))

	check("Touch", c.Touch("k1", 100), nil)
	check("Touch missing", c.Touch("missing", 100), memcache.ErrCacheMiss)
	if it, err := c.GetAndTouch("k1", 100); err != nil || string(it.Value) != "head-v1-tail" {
		t.Errorf("GetAndTouch = %v, %v", it, err)
	}
	_, err = c.GetAndTouch("missing", 100)
	check("GetAndTouch missing", err, memcache.ErrCacheMiss)
	check("Touch to expire", c.Touch("k3", -1), nil)
	_, err = c.Get("k3")
	check("Get expired", err, memcache.ErrCacheMiss)

	big := bytes.Repeat([]byte("x"), 2<<20)
	check("Set too large", c.Set(&memcache.Item{Key: "big", Value: big}),
		errors.New(`memcache: unexpected response line from "set": "SERVER_ERROR object too large for cache\r\n"`))
	check("Set after too large", c.Set(&memcache.Item{Key: "after", Value: []byte("ok")}), nil)
	value("after", "ok", 0)
	check("Set malformed key", c.Set(&memcache.Item{Key: "bad key", Value: []byte("x")}), memcache.ErrMalformedKey)

	check("FlushAll", c.FlushAll(), nil)
	for _, k := range []string{"k1", "n", "max", "after", "empty"} {
		_, err := c.Get(k)
		check("Get after FlushAll "+k, err, memcache.ErrCacheMiss)
	}
	check("Set after FlushAll", c.Set(&memcache.Item{Key: "k1", Value: []byte("new")}), nil)
	value("k1", "new", 0)
}

// pymemcacheScript exercises pymemcache (Debian's python3-pymemcache) and
// prints what it got as JSON.
const pymemcacheScript = `
import json, sys
from pymemcache.client.base import Client
c = Client(("127.0.0.1", int(sys.argv[1])), connect_timeout=5, timeout=5)
r = {}
r["set"] = c.set("k1", b"v1", noreply=False)
r["get"] = c.get("k1").decode()
r["set_n"] = c.set("n", b"22", noreply=False)
r["get_many"] = {k: v.decode() for k, v in c.get_many(["k1", "n", "missing"]).items()}
r["incr"] = c.incr("n", 8)
r["incr_missing"] = c.incr("missing", 1)
r["decr"] = c.decr("n", 100)
r["add"] = c.add("k1", b"x", noreply=False)
v, cas = c.gets("k1")
r["cas"] = c.cas("k1", b"v2", cas, noreply=False)
r["cas_stale"] = c.cas("k1", b"v3", cas, noreply=False)
r["delete"] = c.delete("k1", noreply=False)
r["delete_again"] = c.delete("k1", noreply=False)
r["get_deleted"] = c.get("k1")
c.set("s", b"abc", noreply=False)
try:
    c.incr("s", 1)
    r["incr_nonnumeric"] = "no error"
except Exception as e:
    r["incr_nonnumeric"] = str(e)
print(json.dumps(r, sort_keys=True))
`

// pymemcachePython is Debian's python3 with python3-pymemcache (a pyenv
// python3 first in PATH has no Debian packages).
func pymemcachePython(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import pymemcache").Run(); err != nil {
		if testing.Short() {
			t.Skip("Debian's python3-pymemcache is not installed")
		}
		t.Fatalf("Debian's python3-pymemcache is needed (make deps installs it): %v", err)
	}
	return python
}

func TestE2EPymemcache(t *testing.T) {
	python := pymemcachePython(t)
	want := map[string]any{
		"set": true, "get": "v1", "set_n": true, "get_many": map[string]any{"k1": "v1", "n": "22"},
		"incr": float64(30), "incr_missing": nil, "decr": float64(0), "add": false, "cas": true,
		"cas_stale": false, "delete": true, "delete_again": false, "get_deleted": nil,
		"incr_nonnumeric": "b'cannot increment or decrement non-numeric value'", // pymemcache shows the bytes
	}
	for _, peer := range []struct{ name, addr string }{{"shoal", startShoalProc(t).Addr}, {"memcached", conformance.Memcached(t)}} {
		_, port, _ := net.SplitHostPort(peer.addr)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, python, "-c", pymemcacheScript, port).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: pymemcache script: %v\n%s", peer.name, err, out)
			continue
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Errorf("%s: script output %q: %v", peer.name, out, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: pymemcache got\n  %v\nwant\n  %v", peer.name, got, want)
		}
	}
}

// rawConn is a line-oriented client for checks that need exact replies.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

// call sends req and reads one reply line.
func (c *rawConn) call(req string) string {
	c.t.Helper()
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.nc, req); err != nil {
		c.t.Fatalf("writing %.40q: %v", req, err)
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reply to %.40q: %v", req, err)
	}
	return line
}

// get returns key's value, or ok=false on a miss.
func (c *rawConn) get(key string) (value string, ok bool) {
	c.t.Helper()
	line := c.call("get " + key + "\r\n")
	if line == "END\r\n" {
		return "", false
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "VALUE" || f[1] != key {
		c.t.Fatalf("get %s: %q", key, line)
	}
	n, _ := strconv.Atoi(f[3])
	buf := make([]byte, n+2+len("END\r\n"))
	if _, err := io.ReadFull(c.r, buf); err != nil || string(buf[n:]) != "\r\nEND\r\n" {
		c.t.Fatalf("get %s: value block %q: %v", key, buf, err)
	}
	return string(buf[:n]), true
}

// stats returns the general stats.
func (c *rawConn) stats() map[string]string {
	c.t.Helper()
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.nc, "stats\r\n"); err != nil {
		c.t.Fatal(err)
	}
	m := map[string]string{}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("stats: %v", err)
		}
		if line == "END\r\n" {
			return m
		}
		f := strings.SplitN(strings.TrimSuffix(line, "\r\n"), " ", 3)
		if len(f) != 3 || f[0] != "STAT" {
			c.t.Fatalf("stats line %q", line)
		}
		m[f[1]] = f[2]
	}
}

// fillValue is the 10 KB value of the ith key of a memory test.
func fillValue(i int) string {
	return strings.Repeat(fmt.Sprintf("%09d|", i), 1024)
}

const (
	fillCount = 4000 // 40 MB of 10 KB values
	fillLimit = 8    // MB
)

func TestE2EMemoryLimitEvicts(t *testing.T) {
	p := startShoalProc(t, "-m", strconv.Itoa(fillLimit))
	c := dialRaw(t, p.Addr)
	for i := range fillCount {
		v := fillValue(i)
		if got := c.call(fmt.Sprintf("set key%05d 0 0 %d\r\n%s\r\n", i, len(v), v)); got != "STORED\r\n" {
			t.Fatalf("set %d of %d: %q", i, fillCount, got)
		}
	}
	st := c.stats()
	if st["limit_maxbytes"] != "8388608" {
		t.Errorf("limit_maxbytes = %s, want 8388608", st["limit_maxbytes"])
	}
	if ev, _ := strconv.Atoi(st["evictions"]); ev == 0 {
		t.Errorf("no evictions after storing 40 MB in 8 MB: %v", st)
	}
	items, _ := strconv.Atoi(st["curr_items"])
	if bytesUsed, _ := strconv.Atoi(st["bytes"]); bytesUsed > fillLimit<<20 || items*len(fillValue(0)) > fillLimit<<20 {
		t.Errorf("%d items, %d bytes stored under an 8 MB limit", items, bytesUsed)
	}
	if items < 100 {
		t.Errorf("only %d items kept in 8 MB of 10 KB values", items)
	}
	// The most recent keys survive, whole.
	for i := fillCount - 50; i < fillCount; i++ {
		key := fmt.Sprintf("key%05d", i)
		if v, ok := c.get(key); !ok || v != fillValue(i) {
			t.Errorf("recent %s lost or damaged (found %v, %d bytes)", key, ok, len(v))
		}
	}
	if _, ok := c.get("key00000"); ok {
		t.Errorf("the oldest key survived 40 MB written into 8 MB")
	}
}

func TestE2EMemoryLimitWithoutEvictions(t *testing.T) {
	// memcached -M refuses stores once memory is full; shoal -M must too,
	// with the same error, after a similar number of stores.
	peers := []struct{ name, addr string }{
		{"shoal", startShoalProc(t, "-m", strconv.Itoa(fillLimit), "-M").Addr},
		{"memcached", conformance.Memcached(t, "-m", strconv.Itoa(fillLimit), "-M")},
	}
	for _, p := range peers {
		c := dialRaw(t, p.addr)
		stored := 0
		for i := range fillCount {
			v := fillValue(i)
			got := c.call(fmt.Sprintf("set key%05d 0 0 %d\r\n%s\r\n", i, len(v), v))
			if got == "STORED\r\n" {
				stored++
				continue
			}
			if got != "SERVER_ERROR out of memory storing object\r\n" {
				t.Fatalf("%s: set %d: %q", p.name, i, got)
			}
			break
		}
		if stored == fillCount {
			t.Fatalf("%s -M stored all %d 10 KB values in %d MB", p.name, fillCount, fillLimit)
		}
		if stored < 100 || stored*len(fillValue(0)) > fillLimit<<20 {
			t.Errorf("%s -M stored %d 10 KB values in %d MB", p.name, stored, fillLimit)
		}
		t.Logf("%s -M: %d values stored before out of memory", p.name, stored)
		// Nothing was evicted: the first key is still there, and the
		// connection still works for reads and small writes' errors.
		if v, ok := c.get("key00000"); !ok || v != fillValue(0) {
			t.Errorf("%s -M lost its first key", p.name)
		}
		if st := c.stats(); st["evictions"] != "0" {
			t.Errorf("%s -M evicted %s items", p.name, st["evictions"])
		}
	}
}

func TestE2EAbruptDisconnect(t *testing.T) {
	p := startShoalProc(t)
	other := dialRaw(t, p.Addr)
	if got := other.call("set k 0 0 2\r\nok\r\n"); got != "STORED\r\n" {
		t.Fatalf("set: %q", got)
	}
	base, _ := strconv.Atoi(other.stats()["curr_connections"])

	abandon := []string{
		"set half 0 0 100\r\n" + strings.Repeat("x", 50), // half a data block
		"get k", // half a command line
		"set big 0 0 1048577\r\n" + strings.Repeat("x", 1000),              // in a too-large value's discard
		strings.Repeat("get k\r\n", 5000),                                  // replies it will not read
		"set k2 0 0 1\r\nx\r\nget k2 k2 k2 k2 k2 k2 k2 k2 k2 k2 k2 k2\r\n", // then gone
	}
	for _, req := range abandon {
		nc, err := net.DialTimeout("tcp", p.Addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(nc, req)
		if tc, ok := nc.(*net.TCPConn); ok && len(req) > 1000 {
			_ = tc.SetLinger(0) // reset, not a polite close
		}
		nc.Close()
	}
	// The server keeps serving the other connection, and lets go of the
	// abandoned ones.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v, ok := other.get("k"); !ok || v != "ok" {
			t.Fatalf("after abandoned connections get k = %q, %v", v, ok)
		}
		curr, _ := strconv.Atoi(other.stats()["curr_connections"])
		if curr == base {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("curr_connections %d ten seconds after the others left, want %d", curr, base)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok := other.get("half"); ok {
		t.Errorf("half a set was stored")
	}
	if got := other.call("set after 0 0 1\r\nx\r\n"); got != "STORED\r\n" {
		t.Errorf("set after abandoned connections: %q", got)
	}
	fresh := dialRaw(t, p.Addr)
	if v, ok := fresh.get("after"); !ok || v != "x" {
		t.Errorf("a new connection reads after = %q, %v", v, ok)
	}
}

func TestE2ESIGTERMExitsCleanly(t *testing.T) {
	p := startShoalProc(t)
	idle := dialRaw(t, p.Addr)
	if got := idle.call("set k 0 0 1\r\nx\r\n"); got != "STORED\r\n" {
		t.Fatalf("set: %q", got)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(15 * time.Second):
		t.Fatalf("shoal still running 15s after SIGTERM\n%s", p.Output())
	}
	if p.Err() != nil {
		t.Errorf("shoal exited with %v after SIGTERM\n%s", p.Err(), p.Output())
	}
	// The idle connection was closed, not left hanging.
	_ = idle.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := idle.r.ReadByte(); err != io.EOF {
		t.Errorf("idle connection after shutdown: read %q, %v; want EOF", b, err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr, time.Second); err == nil {
		t.Errorf("still accepting connections after exit")
	}
}

func TestE2EShutdownCommand(t *testing.T) {
	// Enabled with -A, as memcached's; "shutdown graceful" stops the
	// server, which closes the connection and exits.
	shoal := startShoalProc(t, "-A")
	for _, p := range []struct{ name, addr string }{{"shoal", shoal.Addr}, {"memcached", conformance.Memcached(t, "-A")}} {
		c := dialRaw(t, p.addr)
		if got := c.call("shutdown bogus\r\n"); got != "CLIENT_ERROR invalid shutdown mode\r\n" {
			t.Errorf("%s: shutdown bogus: %q", p.name, got)
		}
		if got := c.call("shutdown a b\r\n"); got != "CLIENT_ERROR invalid shutdown mode\r\n" {
			t.Errorf("%s: shutdown a b: %q", p.name, got)
		}
		if _, err := io.WriteString(c.nc, "shutdown graceful\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(15 * time.Second))
		if rest, err := io.ReadAll(c.r); err != nil || len(rest) != 0 {
			t.Errorf("%s: after shutdown graceful read %q, %v; want the connection closed", p.name, rest, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			nc, err := net.DialTimeout("tcp", p.addr, time.Second)
			if err != nil {
				break
			}
			nc.Close()
			if time.Now().After(deadline) {
				t.Fatalf("%s still accepts connections 10s after shutdown graceful", p.name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	select {
	case <-shoal.Exited():
		if shoal.Err() != nil {
			t.Errorf("shoal exited with %v after shutdown graceful", shoal.Err())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("shoal still running 10s after shutdown graceful")
	}
}
