package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/node"
)

// One version story: shoal --version and shoal node -V print the same
// line, with the memcached protocol version the version command and stats
// report and shoal's own release, which stats reports as shoal_version.
func TestVersionsAgree(t *testing.T) {
	bin := testproc.ShoalBinary(t)
	var line string
	for _, args := range [][]string{{"--version"}, {"node", "-V"}, {"node", "--version"}, {"endpoint", "-V"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("shoal %s: %v %s", strings.Join(args, " "), err, out)
		}
		if line == "" {
			line = string(out)
		}
		if string(out) != line {
			t.Errorf("shoal %s printed %q, shoal --version %q", strings.Join(args, " "), out, line)
		}
	}
	m := regexp.MustCompile(`^shoal (\S+) \(memcached ([0-9.]+)\)\n$`).FindStringSubmatch(line)
	if m == nil || m[2] != node.ProtocolVersion {
		t.Fatalf("version line %q, want shoal RELEASE (memcached %s)", line, node.ProtocolVersion)
	}
	p := testproc.StartShoal(t, "node")
	st := statsOf(t, p.Addr, "")
	if st["version"] != m[2] || st["shoal_version"] != m[1] {
		t.Errorf("stats version %q shoal_version %q, want %q and %q", st["version"], st["shoal_version"], m[2], m[1])
	}
}
