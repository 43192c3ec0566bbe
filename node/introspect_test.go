package node_test

import (
	"bufio"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/node/internal/conformance"
)

// memcached 1.6's introspection commands (slabs, stats detail, watch) are
// checked against Debian's memcached 1.6.18 wherever memcached's answer is
// deterministic: the replies to every argument, the per-prefix counters, and
// the watch lines with their timestamps, event numbers and connection ids
// taken out.

func TestIntrospectionRepliesMatchMemcached(t *testing.T) {
	peers := []peer{{"shoal", node.StartTestNode(t)}, {"memcached", conformance.Memcached(t)}}
	checkCases(t, peers, []textCase{
		{name: "slabs alone", req: []string{"slabs\r\n"}, want: "ERROR\r\n"},
		{name: "slabs unknown", req: []string{"slabs foo 1 2\r\n"}, want: "ERROR\r\n"},
		{name: "reassign short", req: []string{"slabs reassign 1\r\n"}, want: "ERROR\r\n"},
		{name: "reassign long", req: []string{"slabs reassign 1 2 3\r\n"}, want: "ERROR\r\n"},
		{name: "reassign letters", req: []string{"slabs reassign a 2\r\n"}, want: "CLIENT_ERROR bad command line format\r\n"},
		{name: "reassign same", req: []string{"slabs reassign 3 3\r\n"}, want: "SAME src and dst class are identical\r\n"},
		{name: "reassign bad class", req: []string{"slabs reassign 1 200\r\n"}, want: "BADCLASS invalid src or dst class id\r\n"},
		{name: "reassign from the pool", req: []string{"slabs reassign 0 2\r\n"}, want: "NOSPARE source class has no spare pages\r\n"},
		{name: "reassign no spare", req: []string{"slabs reassign 1 2\r\n"}, want: "NOSPARE source class has no spare pages\r\n"},
		{name: "automove short", req: []string{"slabs automove\r\n"}, want: "ERROR\r\n"},
		{name: "automove letters", req: []string{"slabs automove x\r\n"}, want: "CLIENT_ERROR bad command line format\r\n"},
		{name: "automove 3", req: []string{"slabs automove 3\r\n"}, want: "ERROR\r\n"},
		{name: "automove modes", req: []string{"slabs automove 0\r\nslabs automove 2\r\nslabs automove 1\r\n"}, want: "OK\r\nOK\r\nOK\r\n"},
		{name: "automove noreply", req: []string{"slabs automove 1 noreply\r\n"}, want: ""},
		{name: "automove ratio", req: []string{"slabs automove ratio 0.8\r\n"}, want: "OK\r\n"},
		{name: "automove ratio missing", req: []string{"slabs automove ratio\r\n"}, want: "ERROR\r\n"},
		{name: "automove ratio letters", req: []string{"slabs automove ratio x\r\n"}, want: "ERROR\r\n"},
		{name: "detail alone", req: []string{"stats detail\r\n"}, want: "CLIENT_ERROR usage: stats detail on|off|dump\r\n"},
		{name: "detail unknown", req: []string{"stats detail maybe\r\n"}, want: "CLIENT_ERROR usage: stats detail on|off|dump\r\n"},
		{name: "detail off", req: []string{"stats detail off\r\n"}, want: "OK\r\n"},
		{name: "watch after pipelined", req: []string{"version\r\nwatch\r\n"}, want: "VERSION <v>\r\nERROR cannot pipeline other commands before watch\r\n"},
		{name: "verbosity letters", req: []string{"verbosity x\r\n"}, want: "CLIENT_ERROR bad command line format\r\n"},
		{name: "verbosity", req: []string{"verbosity 1\r\nverbosity 0\r\n"}, want: "OK\r\nOK\r\n"},
	})
}

func TestSlabsAutomoveShowsInSettings(t *testing.T) {
	for _, p := range freshStatsPeers(t) {
		for _, mode := range []string{"0", "2", "1"} {
			if got := p.s.do(t, "slabs automove "+mode+"\r\n"); got != "OK\r\n" {
				t.Fatalf("%s: slabs automove %s: %q", p.name, mode, got)
			}
			_, v := parseStats(t, p.name, p.s.do(t, "stats settings\r\n"))
			if v["slab_automove"] != mode {
				t.Errorf("%s: after slabs automove %s, stats settings slab_automove = %s", p.name, mode, v["slab_automove"])
			}
		}
	}
}

// A page moved by slabs reassign is counted where memcached counts it.
// shoal's segments hold items of every size, so a class has no page to
// give: it answers as memcached does when the source has none to spare.
func TestSlabsReassignMovesAPage(t *testing.T) {
	for _, p := range freshStatsPeers(t) {
		// Three pages of class-1 items, then one item of a larger class.
		var b strings.Builder
		for i := range 30000 {
			b.WriteString("set k" + strconv.Itoa(i) + " 0 0 1 noreply\r\nx\r\n")
		}
		p.s.do(t, b.String())
		p.s.do(t, "set big 0 0 3000\r\n"+strings.Repeat("v", 3000)+"\r\n")
		_, slabs := parseStats(t, p.name, p.s.do(t, "stats slabs\r\n"))
		var big string
		for name, v := range slabs {
			if strings.HasSuffix(name, ":used_chunks") && v == "1" && !strings.HasPrefix(name, "1:") {
				big = strings.TrimSuffix(name, ":used_chunks")
			}
		}
		if slabs["1:total_pages"] == "" || slabs["1:total_pages"] == "1" || big == "" {
			t.Fatalf("%s: want several class-1 pages and one larger item: %v", p.name, slabs)
		}
		before, _ := strconv.Atoi(slabs[big+":total_pages"])
		got := p.s.do(t, "slabs reassign 1 "+big+"\r\n")
		if p.name == "shoal" {
			if got != "NOSPARE source class has no spare pages\r\n" {
				t.Fatalf("shoal: slabs reassign 1 %s: %q", big, got)
			}
			if moved := statsValue(t, p, "slabs_moved"); moved != "0" {
				t.Errorf("shoal: slabs_moved = %s, want 0", moved)
			}
			continue
		}
		if got != "OK\r\n" {
			t.Fatalf("%s: slabs reassign 1 %s: %q", p.name, big, got)
		}
		deadline := time.Now().Add(5 * time.Second) // memcached moves in the background
		for {
			_, slabs = parseStats(t, p.name, p.s.do(t, "stats slabs\r\n"))
			if n, _ := strconv.Atoi(slabs[big+":total_pages"]); n == before+1 || time.Now().After(deadline) {
				if n != before+1 {
					t.Errorf("%s: class %s has %d pages after the move, want %d", p.name, big, n, before+1)
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := statsValue(t, p, "slabs_moved"); got != "1" {
			t.Errorf("%s: slabs_moved = %s, want 1", p.name, got)
		}
	}
}

func TestStatsDetailMatchesMemcached(t *testing.T) {
	ops := "stats detail on\r\n" +
		"set a:1 0 0 1\r\nx\r\nset a:2 0 0 1\r\nx\r\nset b:1 0 0 1\r\nx\r\nset plain 0 0 1\r\nx\r\n" +
		"get a:1\r\nget a:3\r\nget b:1 b:2 plain\r\ndelete a:2\r\ndelete c:1\r\n" +
		"stats detail off\r\nget a:1\r\nset c:9 0 0 1\r\nx\r\n"
	var dumps [2][]string
	for i, p := range freshStatsPeers(t) {
		p.s.do(t, ops)
		dump := p.s.do(t, "stats detail dump\r\n")
		body, ok := strings.CutSuffix(dump, "END\r\n")
		if !ok {
			t.Fatalf("%s: dump %q", p.name, dump)
		}
		dumps[i] = strings.SplitAfter(body, "\r\n")
		slices.Sort(dumps[i]) // memcached lists prefixes in hash order
	}
	want := []string{"", "PREFIX a get 2 hit 1 set 2 del 1\r\n", "PREFIX b get 2 hit 1 set 1 del 0\r\n", "PREFIX c get 0 hit 0 set 0 del 1\r\n"}
	for i, name := range []string{"shoal", "memcached"} {
		if !slices.Equal(dumps[i], want) {
			t.Errorf("%s: stats detail dump\n  %q\nwant\n  %q", name, dumps[i], want)
		}
	}
}

// What differs between runs in a watch line, taken out before comparing:
// the time and event number in front, and the connection id.
var (
	watchPrefix = regexp.MustCompile(`^ts=[0-9]+\.[0-9]+ gid=[0-9]+ `)
	watchCfd    = regexp.MustCompile(` cfd=[0-9]+`)
)

// watchLines reads n lines from a watcher, without watchPrefix and watchCfd.
func watchLines(t *testing.T, who string, r *bufio.Reader, nc net.Conn, n int) []string {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var lines []string
	for len(lines) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: after %q: %v", who, lines, err)
		}
		line = strings.TrimSuffix(line, "\n")
		if !watchPrefix.MatchString(line) {
			t.Fatalf("%s: watch line %q is not memcached's shape", who, line)
		}
		lines = append(lines, watchCfd.ReplaceAllString(watchPrefix.ReplaceAllString(line, ""), ""))
	}
	return lines
}

// withoutStoreLookups drops the item_get line memcached logs for the
// lookup its every store makes of the key's old item (before the
// item_store line of the same key): an artefact of its code path that
// shoal's store does not make.
func withoutStoreLookups(lines []string) []string {
	var out []string
	for i, l := range lines {
		if i+1 < len(lines) && strings.HasPrefix(l, "type=item_get key=") && strings.HasPrefix(lines[i+1], "type=item_store key=") {
			key := strings.Fields(l)[1]
			if strings.Fields(lines[i+1])[1] == key {
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

func TestWatchMatchesMemcached(t *testing.T) {
	var got [2][]string
	for i, p := range []peer{{"shoal", node.StartTestNode(t)}, {"memcached", conformance.Memcached(t)}} {
		wc, r := openWatcher(t, p.addr, "watch fetchers mutations")
		s, err := dialText(p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.do(t, "set foo 0 0 3\r\nbar\r\nget foo\r\nget nope\r\nadd foo 0 100 2\r\nxy\r\nset k%20y 5 0 10\r\n0123456789\r\ngets k%20y\r\n")
		got[i] = withoutStoreLookups(watchLines(t, p.name, r, wc, 6+3*i))
	}
	want := []string{
		"type=item_store key=foo status=stored cmd=set ttl=0 clsid=1 size=3",
		"type=item_get key=foo status=found clsid=1 size=3",
		"type=item_get key=nope status=not_found clsid=0 size=0",
		"type=item_store key=foo status=not_stored cmd=add ttl=100 clsid=1 size=2",
		"type=item_store key=k%2520y status=stored cmd=set ttl=0 clsid=1 size=10",
		"type=item_get key=k%2520y status=found clsid=1 size=10",
	}
	for i, name := range []string{"shoal", "memcached"} {
		if !slices.Equal(got[i], want) {
			t.Errorf("%s: watch lines\n  %q\nwant\n  %q", name, got[i], want)
		}
	}
}

func TestWatchRefusals(t *testing.T) {
	for _, p := range []peer{{"shoal", node.StartTestNode(t, func(c *node.Config) { c.DisableWatch = true })}, {"memcached", conformance.Memcached(t, "-W")}} {
		s, err := dialText(p.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.do(t, "watch\r\n"); got != "CLIENT_ERROR watch commands not allowed\r\n" {
			t.Errorf("%s with -W: watch answered %q", p.name, got)
		}
		s.Close()
	}
	for _, p := range []peer{{"shoal", node.StartTestNode(t)}, {"memcached", conformance.Memcached(t)}} {
		var last string
		for i := range 21 {
			nc, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_, _ = nc.Write([]byte("watch\r\n"))
			_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			last, err = bufio.NewReader(nc).ReadString('\n')
			if i < 20 && last != "OK\r\n" {
				t.Fatalf("%s: watcher %d answered %q, %v", p.name, i+1, last, err)
			}
		}
		if last != "WATCHER_TOO_MANY log watcher limit reached\r\n" {
			t.Errorf("%s: the 21st watcher got %q", p.name, last)
		}
		s, err := dialText(p.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.do(t, "watch fetchers nonsense\r\n"); got != "ERROR\r\n" {
			t.Errorf("%s: watch with an unknown kind answered %q", p.name, got)
		}
		s.Close()
	}
}

// A watcher that never reads costs a bounded buffer: the node drops its
// lines, counts them skipped, and serves everyone else.
func TestWatcherThatNeverReads(t *testing.T) {
	addr := node.StartTestNode(t)
	wc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	if _, err := wc.Write([]byte("watch fetchers\r\n")); err != nil {
		t.Fatal(err)
	}
	s, err := dialText(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	line := "get" + strings.Repeat(" some-key-that-is-rather-long-to-fill-lines-fast", 500) + "\r\n"
	skipped := 0
	for round := 0; round < 400 && skipped == 0; round++ {
		if got := s.do(t, line); got != "END\r\n" {
			t.Fatalf("get answered %q", got)
		}
		_, v := parseStats(t, "shoal", s.do(t, "stats\r\n"))
		skipped, _ = strconv.Atoi(v["log_watcher_skipped"])
	}
	if skipped == 0 {
		t.Fatal("200,000 lines to a watcher that does not read, and none skipped")
	}
	if got := s.do(t, "set after 0 0 1\r\nx\r\nget after\r\n"); got != "STORED\r\nVALUE after 0 1\r\nx\r\nEND\r\n" {
		t.Errorf("the node stopped serving: %q", got)
	}
}

var evictionLine = regexp.MustCompile(`^type=eviction key=k([0-9]+) fetch=no ttl=-1 la=[0-9]+ clsid=[0-9]+ size=10000$`)

// watch evictions reports the items memory pressure pushes out, in
// memcached's form.
func TestWatchEvictionsMatchesMemcached(t *testing.T) {
	for _, p := range []peer{{"shoal", node.StartTestNode(t, func(c *node.Config) { c.MemoryLimitMB = 8 })}, {"memcached", conformance.Memcached(t, "-m", "8")}} {
		wc, r := openWatcher(t, p.addr, "watch evictions")
		s, err := dialText(p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		value := strings.Repeat("v", 10000)
		for i := range 2000 { // 20 MB into 8
			s.write("set k" + strconv.Itoa(i) + " 0 0 10000 noreply\r\n" + value + "\r\n")
		}
		s.do(t, "version\r\n")
		line := watchLines(t, p.name, r, wc, 1)[0]
		if !evictionLine.MatchString(line) {
			t.Errorf("%s: first eviction line %q", p.name, line)
		}
	}
}

// openWatcher connects to addr, sends the watch command (as "watch
// fetchers"), checks its OK and returns the connection, closed when the
// test ends, and its reader, with a 5 s deadline.
func openWatcher(t *testing.T, addr, command string) (net.Conn, *bufio.Reader) {
	t.Helper()
	wc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wc.Close() })
	if _, err := wc.Write([]byte(command + "\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(wc)
	_ = wc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if ok, err := r.ReadString('\n'); ok != "OK\r\n" {
		t.Fatalf("%s: %s answered %q, %v", addr, command, ok, err)
	}
	return wc, r
}
