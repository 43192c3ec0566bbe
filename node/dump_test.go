package node_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// memcachedTool is memcached-tool, shipped with Debian's memcached.
const memcachedTool = "/usr/share/memcached/scripts/memcached-tool"

// The errors of stats cachedump and lru_crawler metadump are memcached's,
// byte for byte, and so is what -X and -o no_lru_crawler make of them.
// Each request goes alone on a new connection: memcached refuses a metadump
// behind other commands ("cannot pipeline"), which shoal does not.
func TestDumpErrorsMatchMemcached(t *testing.T) {
	check := func(peers []peer, cases map[string]string) {
		t.Helper()
		for req, want := range cases {
			for _, p := range peers {
				if got := askLine(t, p.addr, req+"\r\n"); got != want {
					t.Errorf("%s: %q: %q, want %q", p.name, req, got, want)
				}
			}
		}
	}
	check([]peer{{"shoal", node.StartTestNode(t)}, {"memcached", conformance.Memcached(t)}}, map[string]string{
		"stats cachedump":               "CLIENT_ERROR bad command line\r\n",
		"stats cachedump 1":             "CLIENT_ERROR bad command line\r\n",
		"stats cachedump x 1":           "CLIENT_ERROR bad command line format\r\n",
		"stats cachedump 1 x":           "CLIENT_ERROR bad command line format\r\n",
		"stats cachedump -1 0":          "CLIENT_ERROR bad command line format\r\n",
		"stats cachedump 1 -1":          "CLIENT_ERROR bad command line format\r\n",
		"stats cachedump 64 0":          "CLIENT_ERROR Illegal slab id\r\n",
		"stats cachedump 63 0":          "END\r\n",
		"stats cachedump 0 0":           "END\r\n",
		"lru_crawler metadump 0":        "BADCLASS invalid class id\r\n",
		"lru_crawler metadump 64":       "BADCLASS invalid class id\r\n",
		"lru_crawler metadump x":        "BADCLASS invalid class id\r\n",
		"lru_crawler metadump 1,x":      "BADCLASS invalid class id\r\n",
		"lru_crawler metadump 63":       "END\r\n",
		"lru_crawler metadump all":      "END\r\n",
		"lru_crawler metadump":          "ERROR\r\n",
		"lru_crawler metadump all more": "ERROR\r\n",
		"lru_crawler":                   "ERROR\r\n",
	})
	check([]peer{
		{"shoal", node.StartTestNode(t, func(c *node.Config) { c.DisableDumping = true })},
		{"memcached", conformance.Memcached(t, "-X")},
	}, map[string]string{
		"stats cachedump 1 0":      "CLIENT_ERROR stats cachedump not allowed\r\n",
		"lru_crawler metadump all": "ERROR metadump not allowed\r\n",
	})
	check([]peer{
		{"shoal", node.StartTestNode(t, func(c *node.Config) { c.NoLRUCrawler = true })},
		{"memcached", conformance.Memcached(t, "-o", "no_lru_crawler")},
	}, map[string]string{"lru_crawler metadump all": "CLIENT_ERROR lru crawler disabled\r\n"})
}

// askLine sends req on a new connection and reads one reply line.
func askLine(t *testing.T, addr, req string) string {
	t.Helper()
	c := dialRaw(t, addr)
	defer c.nc.Close()
	return c.call(req)
}

// dumpItems stores the items the listing tests list: two in class 1, one
// with an absolute expiry, one in class 12, a key with characters metadump
// encodes, and with binaryKey a binary key (meta b), which cachedump leaves
// out.
func dumpItems(t *testing.T, addr string, expiry int64, binaryKey bool) {
	c := dialRaw(t, addr)
	for _, req := range []string{
		"set a 5 0 3\r\nabc\r\n",
		fmt.Sprintf("set bb 0 %d 2\r\nxy\r\n", expiry),
		"set c 0 0 1000\r\n" + strings.Repeat("x", 1000) + "\r\n",
		"set k%20x/y 0 0 1\r\nz\r\n",
	} {
		if got := c.call(req); got != "STORED\r\n" {
			t.Fatalf("%.20q: %q", req, got)
		}
	}
	if !binaryKey {
		return
	}
	if got := c.call("ms AAEC 1 b\r\nz\r\n"); got != "HD\r\n" {
		t.Fatalf("ms with a binary key: %q", got)
	}
}

// ask sends req and reads the reply through END.
func ask(t *testing.T, addr, req string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r := bufio.NewReader(nc)
	for !strings.HasSuffix(b.String(), "END\r\n") {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%q: %v after %q", req, err, b.String())
		}
		b.WriteString(line)
	}
	return b.String()
}

// untilEqual asks until the reply is want, for up to 3 s: memcached moves
// new items from its hot LRU to the cold one, which cachedump lists, in the
// background.
func untilEqual(t *testing.T, addr, req, want string) string {
	var got string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = ask(t, addr, req); got == want {
			break
		}
	}
	return got
}

var metaNumbers = regexp.MustCompile(` la=([0-9]+) cas=[0-9]+ (.*) size=[0-9]+$`)

// normalisedMetadump sorts the lines of a metadump, whose order is the
// server's, and writes la, cas and size, which differ by nature (the
// second of the set, the servers' CAS counters, their item layouts), as
// <la> (once checked to be about now), <cas> and <size>.
func normalisedMetadump(t *testing.T, who, dump string) string {
	body, ok := strings.CutSuffix(dump, "END\r\n")
	if !ok {
		t.Fatalf("%s: metadump %q does not end with END", who, dump)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i, l := range lines {
		m := metaNumbers.FindStringSubmatchIndex(l)
		if m == nil {
			t.Fatalf("%s: metadump line %q", who, l)
		}
		if la, _ := strconv.ParseInt(l[m[2]:m[3]], 10, 64); la < time.Now().Unix()-10 || la > time.Now().Unix()+1 {
			t.Errorf("%s: la=%d is not about now", who, la)
		}
		lines[i] = l[:m[0]] + " la=<la> cas=<cas> " + l[m[4]:m[5]] + " size=<size>"
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\nEND\r\n"
}

// stats cachedump and lru_crawler metadump list items as memcached 1.6.18
// does, side by side.
func TestDumpListingsMatchMemcached(t *testing.T) {
	expiry := time.Now().Add(time.Hour).Unix()
	peers := []peer{{"shoal", node.StartTestNode(t)}, {"memcached", conformance.Memcached(t)}}
	for _, p := range peers {
		dumpItems(t, p.addr, expiry, true)
		for _, tt := range []struct{ req, want string }{
			{"stats cachedump 1 0\r\n", fmt.Sprintf("ITEM k%%20x/y [1 b; 0 s]\r\nITEM bb [2 b; %d s]\r\nITEM a [3 b; 0 s]\r\nEND\r\n", expiry)},
			{"stats cachedump 1 2\r\n", fmt.Sprintf("ITEM k%%20x/y [1 b; 0 s]\r\nITEM bb [2 b; %d s]\r\nEND\r\n", expiry)},
			{"stats cachedump 12 0\r\n", "ITEM c [1000 b; 0 s]\r\nEND\r\n"},
			{"stats cachedump 2 0\r\n", "END\r\n"},
		} {
			if got := untilEqual(t, p.addr, tt.req, tt.want); got != tt.want {
				t.Errorf("%s: %q:\n got %q\nwant %q", p.name, tt.req, got, tt.want)
			}
		}
		if got := dialRaw(t, p.addr).call("get a\r\n"); got != "VALUE a 5 3\r\n" {
			t.Fatalf("%s: get a: %q", p.name, got)
		}
		want := strings.Join([]string{
			"key=%00%01%02 exp=-1 la=<la> cas=<cas> fetch=no cls=1 size=<size>",
			"key=a exp=-1 la=<la> cas=<cas> fetch=yes cls=1 size=<size>",
			fmt.Sprintf("key=bb exp=%d la=<la> cas=<cas> fetch=no cls=1 size=<size>", expiry),
			"key=c exp=-1 la=<la> cas=<cas> fetch=no cls=12 size=<size>",
			"key=k%2520x%2Fy exp=-1 la=<la> cas=<cas> fetch=no cls=1 size=<size>",
		}, "\n") + "\nEND\r\n"
		for _, req := range []string{"lru_crawler metadump all\r\n", "lru_crawler metadump hash\r\n", "lru_crawler metadump 1,12\r\n"} {
			if got := normalisedMetadump(t, p.name, ask(t, p.addr, req)); got != want {
				t.Errorf("%s: %q:\n got %q\nwant %q", p.name, req, got, want)
			}
		}
	}
}

// Debian's memcdump (libmemcached-tools) lists a node's keys, the same as
// memcached's.
func TestMemcdumpListsKeys(t *testing.T) {
	memcdump := testproc.Tool(t, "memcdump", "libmemcached-tools")
	peers := []peer{{"shoal", startShoalProc(t).Addr}, {"memcached", conformance.Memcached(t)}}
	for _, p := range peers {
		dumpItems(t, p.addr, time.Now().Add(time.Hour).Unix(), true)
		var got []string
		want := []string{"a", "bb", "c", "k%20x/y"}
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			out, err := exec.Command(memcdump, "--servers="+p.addr).Output()
			if err != nil {
				t.Fatalf("%s: memcdump: %v", p.name, err)
			}
			got = strings.Fields(string(out))
			if slices.Sort(got); slices.Equal(got, want) {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: memcdump listed %q, want %q", p.name, got, want)
		}
	}
}

// memcached-tool's dump (lru_crawler metadump, then a get per key) writes
// the same add commands for a node as for memcached. (Without the binary
// key: the tool asks for it with a text get, which memcached's tokenizer
// cuts at the key's NUL byte and shoal's does not.)
func TestMemcachedToolDump(t *testing.T) {
	tool := testproc.Tool(t, memcachedTool, "memcached")
	perl := testproc.Tool(t, "perl", "perl")
	expiry := time.Now().Add(time.Hour).Unix()
	peers := []peer{{"shoal", startShoalProc(t).Addr}, {"memcached", conformance.Memcached(t)}}
	var dumps []string
	for _, p := range peers {
		dumpItems(t, p.addr, expiry, false)
		out, err := exec.Command(perl, tool, p.addr, "dump").Output()
		if err != nil {
			t.Fatalf("%s: memcached-tool dump: %v", p.name, err)
		}
		records := strings.SplitAfter(string(out), "\r\n")
		var adds []string // each add line with its value line, sorted: the tool's order is perl's hash order
		for i := 0; i+1 < len(records); i += 2 {
			adds = append(adds, records[i]+records[i+1])
		}
		slices.Sort(adds)
		dumps = append(dumps, strings.Join(adds, ""))
	}
	want := "add a 5 0 3\r\nabc\r\n" + fmt.Sprintf("add bb 0 %d 2\r\nxy\r\n", expiry) +
		"add c 0 0 1000\r\n" + strings.Repeat("x", 1000) + "\r\n" + "add k%20x/y 0 0 1\r\nz\r\n"
	for i, p := range peers {
		if dumps[i] != want {
			t.Errorf("%s: memcached-tool dump:\n%q\nwant\n%q", p.name, dumps[i], want)
		}
	}
}

// A metadump of a large cache is streamed: the node allocates next to
// nothing while it lists 200,000 items.
func TestMetadumpStreams(t *testing.T) {
	const n = 200000
	_, addr := node.StartTestServer(t, func(c *node.Config) { c.MemoryLimitMB = 256 })
	c := dialRaw(t, addr)
	w := bufio.NewWriter(c.nc)
	for i := range n {
		fmt.Fprintf(w, "set key:%07d 0 0 10 noreply\r\n0123456789\r\n", i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := c.call("mn\r\n"); got != "MN\r\n" {
		t.Fatalf("after the sets: %q", got)
	}
	_ = c.nc.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(c.nc, "lru_crawler metadump all\r\n"); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	lines, bytes := 0, 0
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			t.Fatalf("after %d lines: %v", lines, err)
		}
		if string(line) == "END\r\n" {
			break
		}
		lines, bytes = lines+1, bytes+len(line)
	}
	runtime.ReadMemStats(&after)
	if lines != n {
		t.Errorf("metadump listed %d items, want %d", lines, n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("listing %d items (%d bytes) allocated %d bytes", lines, bytes, alloc)
	}
}
