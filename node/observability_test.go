package node_test

import (
	"encoding/binary"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/node"
	"github.com/shoal-cache/shoal/protocol"
)

// latencyLine is a `stats latency` line: a family, a count or a percentile
// in microseconds with one decimal.
var latencyLine = regexp.MustCompile(`^STAT ([a-z_]+):(count|p50_us|p90_us|p99_us|p999_us) ([0-9]+(?:\.[0-9])?)$`)

// checkLatency reads a `stats latency` reply, checking each family's lines
// and their order, and returns the counts by family.
func checkLatency(t *testing.T, reply string) (counts map[string]int, order []string) {
	t.Helper()
	body, ok := strings.CutSuffix(reply, "END\r\n")
	if !ok {
		t.Fatalf("stats latency: %q does not end with END", reply)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
	if body == "" {
		lines = nil
	}
	if len(lines)%5 != 0 {
		t.Fatalf("stats latency: %d lines, not 5 a family:\n%s", len(lines), reply)
	}
	counts = map[string]int{}
	for i := 0; i < len(lines); i += 5 {
		var fam string
		prev := -1.0
		for j, want := range []string{"count", "p50_us", "p90_us", "p99_us", "p999_us"} {
			m := latencyLine.FindStringSubmatch(lines[i+j])
			if m == nil || m[2] != want || (j > 0 && m[1] != fam) {
				t.Fatalf("stats latency line %q, want %s of %s", lines[i+j], want, fam)
			}
			fam = m[1]
			v, _ := strconv.ParseFloat(m[3], 64)
			if j == 0 {
				counts[fam] = int(v)
				order = append(order, fam)
				continue
			}
			if v <= 0 || v < prev || v > 10e6 {
				t.Errorf("%s: %s %v after %v", fam, want, v, prev)
			}
			prev = v
		}
	}
	return counts, order
}

func TestStatsLatencyCountsEachFamily(t *testing.T) {
	srv, addr := node.StartTestServer(t)
	s, err := dialText(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.do(t, "stats latency\r\n"); got != "END\r\n" {
		t.Fatalf("no traffic yet: %q", got)
	}
	s.do(t, "set a 0 0 1\r\n1\r\nadd b 0 0 1\r\n2\r\ncas a 0 0 1 1\r\n3\r\n")
	s.do(t, "get a\r\nget a b c\r\ngets a\r\ngat 10 a\r\nget nothing\r\n")
	s.do(t, "delete b\r\nincr a 1\r\ndecr a 1\r\nincr nothing 1\r\ntouch a 10\r\n")
	s.do(t, "mg a v\r\nms m 1\r\nx\r\nmn\r\nconfig get cluster\r\nversion\r\nstats\r\nflush_all 100\r\n")
	counts, order := checkLatency(t, s.do(t, "stats latency\r\n"))
	want := map[string]int{"get": 5, "set": 3, "delete": 1, "incr_decr": 3, "touch": 1, "meta": 3, "config": 1, "all": 17}
	wantOrder := []string{"get", "set", "delete", "incr_decr", "touch", "meta", "config", "all"}
	if strings.Join(order, " ") != strings.Join(wantOrder, " ") {
		t.Errorf("families %v, want %v", order, wantOrder)
	}
	for f, n := range want {
		if counts[f] != n {
			t.Errorf("%s:count %d, want %d", f, counts[f], n)
		}
	}
	// Server.Stats reads what the command prints.
	st, ok := srv.Stats("latency")
	if !ok || len(st) != 40 || st[0] != (node.Stat{"get:count", "5"}) || st[35] != (node.Stat{"all:count", "17"}) {
		t.Errorf("Stats(latency) = %v %v", st, ok)
	}
	s.do(t, "stats reset\r\n")
	if got := s.do(t, "stats latency\r\n"); got != "END\r\n" {
		t.Errorf("after stats reset: %q", got)
	}
}

func TestStatsLatencyBinary(t *testing.T) {
	addr := node.StartTestNode(t)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	// set k=v, getq of a missing key, get k, then a noop to flush.
	var req []byte
	req = binRequestBytes(req, protocol.OpSet, "k", make([]byte, 8), "v")
	req = binRequestBytes(req, protocol.OpGetQ, "missing", nil, "")
	req = binRequestBytes(req, protocol.OpGet, "k", nil, "")
	req = binRequestBytes(req, protocol.OpNoop, "", nil, "")
	if _, err := nc.Write(req); err != nil {
		t.Fatal(err)
	}
	// set reply, get reply (with 4 bytes of flags and the value), noop.
	if _, err := io.ReadFull(nc, make([]byte, 24+24+4+1+24)); err != nil {
		t.Fatal(err)
	}
	s, err := dialText(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	counts, _ := checkLatency(t, s.do(t, "stats latency\r\n"))
	if counts["get"] != 2 || counts["set"] != 1 || counts["all"] != 3 || len(counts) != 3 {
		t.Errorf("binary traffic counted %v, want get 2, set 1", counts)
	}
}

// binRequestBytes appends a binary request.
func binRequestBytes(b []byte, op protocol.Opcode, key string, ext []byte, value string) []byte {
	h := make([]byte, 24)
	h[0] = protocol.BinaryRequestMagic
	h[1] = byte(op)
	binary.BigEndian.PutUint16(h[2:], uint16(len(key)))
	h[4] = byte(len(ext))
	binary.BigEndian.PutUint32(h[8:], uint32(len(ext)+len(key)+len(value)))
	return append(append(append(append(b, h...), ext...), key...), value...)
}

func TestStatsHotkeys(t *testing.T) {
	srv, addr := node.StartTestServer(t, func(c *node.Config) { c.HotKeySample = 1 })
	s, err := dialText(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.do(t, "set w 0 0 1\r\n1\r\nset w 0 0 1\r\n1\r\nincr w 1\r\nms m 1\r\nx\r\ndelete gone\r\ntouch w 1\r\n")
	s.do(t, "get a\r\nget a b\r\ngat 0 a\r\nmg b v\r\nget "+strings.Repeat("k ", 30)+"\r\n")
	want := "STAT sample_rate 1\r\n" +
		"STAT half_life_seconds 60\r\n" +
		"STAT read:1:key k\r\n" + // 30 times, most past the tokens of the first line
		"STAT read:1:count 30\r\n" +
		"STAT read:1:error 0\r\n" +
		"STAT read:2:key a\r\n" +
		"STAT read:2:count 3\r\n" +
		"STAT read:2:error 0\r\n" +
		"STAT read:3:key b\r\n" +
		"STAT read:3:count 2\r\n" +
		"STAT read:3:error 0\r\n" +
		"STAT write:1:key w\r\n" +
		"STAT write:1:count 4\r\n" +
		"STAT write:1:error 0\r\n" +
		"STAT write:2:key gone\r\n" +
		"STAT write:2:count 1\r\n" +
		"STAT write:2:error 0\r\n" +
		"STAT write:3:key m\r\n" +
		"STAT write:3:count 1\r\n" +
		"STAT write:3:error 0\r\n" +
		"END\r\n"
	if got := s.do(t, "stats hotkeys\r\n"); got != want {
		t.Errorf("stats hotkeys:\n%s\nwant\n%s", got, want)
	}
	reads, writes := srv.HotKeys()
	if len(reads) != 3 || string(reads[0].Key) != "k" || len(writes) != 3 {
		t.Errorf("HotKeys() = %v, %v", reads, writes)
	}
	s.do(t, "stats reset\r\n")
	if got := s.do(t, "stats hotkeys\r\n"); got != "STAT sample_rate 1\r\nSTAT half_life_seconds 60\r\nEND\r\n" {
		t.Errorf("after stats reset: %q", got)
	}
}

func TestNoIntrospection(t *testing.T) {
	addr := node.StartTestNode(t, func(c *node.Config) { c.NoIntrospection = true })
	s, err := dialText(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.do(t, "set a 0 0 1\r\n1\r\nget a\r\n")
	for _, g := range []string{"latency", "hotkeys"} {
		if got := s.do(t, "stats "+g+"\r\n"); got != "END\r\n" {
			t.Errorf("stats %s: %q, want END alone", g, got)
		}
	}
}

// TestSampledGetAllocatesNothing: a text get hit, timed and sampled for
// hot keys every time, allocates nothing, client and server together.
func TestSampledGetAllocatesNothing(t *testing.T) {
	nc, err := net.Dial("tcp", node.StartTestNode(t, func(c *node.Config) { c.HotKeySample = 1 }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(nc, "set alloc:key 0 0 5\r\nhello\r\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(nc, buf[:8]); err != nil || string(buf[:8]) != "STORED\r\n" {
		t.Fatalf("set: %q %v", buf[:8], err)
	}
	req := []byte("get alloc:key\r\n")
	reply := "VALUE alloc:key 0 5\r\nhello\r\nEND\r\n"
	allocs := testing.AllocsPerRun(2000, func() {
		if _, err := nc.Write(req); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(nc, buf[:len(reply)]); err != nil || string(buf[:len(reply)]) != reply {
			t.Fatalf("get: %q %v", buf[:len(reply)], err)
		}
	})
	if allocs != 0 {
		t.Errorf("get hit: %v allocations per request, want 0", allocs)
	}
}
