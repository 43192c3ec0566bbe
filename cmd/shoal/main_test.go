package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

func TestMain(m *testing.M) { testproc.Main(m) }

// statsOf reads `stats SUB` (or plain stats for "") from addr.
func statsOf(t *testing.T, addr, sub string) map[string]string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte(strings.TrimSpace("stats "+sub) + "\r\n")); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	r := bufio.NewReader(nc)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stats %s from %s: %v", sub, addr, err)
		}
		f := strings.Fields(line)
		if len(f) == 1 && f[0] == "END" {
			return out
		}
		if len(f) < 2 || f[0] != "STAT" {
			t.Fatalf("stats %s from %s: %q", sub, addr, line)
		}
		out[f[1]] = strings.Join(f[2:], " ")
	}
}

// warnings are the messages of a shoal process's warn lines, in order
// (zap's console lines: time, level, caller, message, fields).
func warnings(output string) []string {
	var out []string
	for _, line := range strings.Split(output, "\n") {
		if f := strings.Split(line, "\t"); len(f) >= 4 && f[1] == "warn" {
			out = append(out, f[3])
		}
	}
	return out
}
