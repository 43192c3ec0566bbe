package bench

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// startMemcached starts a memcached on a free loopback port for the length
// of the test and returns its address.
func startMemcached(t *testing.T, memMB int) string {
	t.Helper()
	return testproc.StartMemcached(t, "-m", strconv.Itoa(memMB), "-t", "2").Addr
}

// stats reads a server's "stats" counters, those that are integers.
func stats(t *testing.T, addr string) map[string]int64 {
	t.Helper()
	st, err := testproc.Stats(addr, "")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, s := range st {
		if n, err := strconv.ParseInt(s.Value, 10, 64); err == nil {
			m[s.Name] = n
		}
	}
	return m
}

// command sends raw text-protocol bytes and returns what came back up to
// and including a line equal to until.
func command(t *testing.T, addr, req, until string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			t.Fatalf("reply to %q: %v (so far %q)", req, err, b.String())
		}
		if strings.TrimRight(line, "\r\n") == until {
			return b.String()
		}
	}
}
