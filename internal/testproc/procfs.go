package testproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Resident is the process's resident memory (VmRSS), in bytes.
func (p *Proc) Resident(tb testing.TB) int64 {
	tb.Helper()
	status := fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid)
	data, err := os.ReadFile(status)
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				tb.Fatalf("%s: %q: %v", status, line, err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("no VmRSS in %s", status)
	return 0
}

// OpenFiles is how many descriptors the process has open.
func (p *Proc) OpenFiles(tb testing.TB) int {
	tb.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	return len(fds)
}
