package main

import (
	"strings"
	"testing"

	"github.com/shoal-cache/shoal/internal/testproc"
)

func TestMain(m *testing.M) { testproc.Main(m) }

// statsOf reads `stats SUB` (or plain stats for "") from addr.
func statsOf(t *testing.T, addr, sub string) map[string]string {
	t.Helper()
	st, err := testproc.Stats(addr, sub)
	if err != nil {
		t.Fatal(err)
	}
	return st.Map()
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
