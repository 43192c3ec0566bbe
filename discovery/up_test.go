package discovery

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// TestUp runs `shoal up` as a user would: it prints the configuration
// endpoint once the nodes are listed in order, and Ctrl-C stops everything.
func TestUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const host, port = "127.0.2.100", 21411
	up := testproc.Start(t, "up", testproc.ShoalBinary(t), "up", "--nodes", "3", "--host", host, "--port", fmt.Sprint(port),
		"--gossip-port", "27990", "-m", "8")
	endpoint := fmt.Sprintf("%s:%d", host, port)
	waitFor(t, 30*time.Second, "shoal up prints the endpoint", func() error {
		if !strings.Contains(up.Output(), "config endpoint: "+endpoint+"\n") {
			return fmt.Errorf("output so far: %q", up.Output())
		}
		return nil
	})
	reply, err := exchange(endpoint, "config get cluster\r\n")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseECReply(reply, false)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 1; i <= 3; i++ {
		want = append(want, fmt.Sprintf("%s|%s|%d", host, host, port+i))
	}
	if !slices.Equal(cfg.nodes, want) {
		t.Errorf("endpoint lists %q; want %q", cfg.nodes, want)
	}

	up.Signal(syscall.SIGINT)
	if err := up.Wait(t, 30*time.Second); err != nil {
		t.Errorf("shoal up exited with %v after Ctrl-C", err)
	}
	for i := 0; i <= 3; i++ {
		addr := net.JoinHostPort(host, fmt.Sprint(port+i))
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after shoal up exited", addr)
		}
	}
}
