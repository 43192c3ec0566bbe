package discovery

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// TestRogueWithoutKeyIsNeverListed runs a cluster with a gossip key and a
// node that joins it without the key: the node must never be listed, and
// it gives up joining.
func TestRogueWithoutKeyIsNeverListed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	c := newTestCluster(t, "127.0.7.1")
	c.extra = []string{"--gossip-key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	c.start("endpoint", "127.0.7.1", "endpoint")
	c.start("n1", "127.0.7.11", "node")
	c.agree(20*time.Second, "the keyed cluster forms", func(v view) error { return v.has(1) })
	before := c.settled(10 * time.Second)

	rogue := testproc.Start(t, "rogue", testproc.ShoalBinary(t), "node", "-l", "127.0.7.66", "-p", fmt.Sprint(testPort),
		"-m", "8", "--name", "rogue", "--gossip", fmt.Sprintf("127.0.7.66:%d", testGossipPort),
		"--join", fmt.Sprintf("127.0.7.1:%d", testGossipPort), "--join-timeout", "3s")
	c.unchanged(4*time.Second, before)
	if err := rogue.Wait(t, 10*time.Second); err == nil {
		t.Errorf("the node without the key exited cleanly; want a failure to join:\n%s", rogue.Output())
	}
	c.unchanged(time.Second, before)
}

// TestGossipOffLoopbackNeedsKey starts members whose gossip other hosts
// could reach, without a key: they refuse to start and say how to give one,
// unless told --gossip-insecure. Nothing binds or sends anywhere but
// 127.0.7.x: the advertised address is only published in gossip, to no
// one.
func TestGossipOffLoopbackNeedsKey(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, role := range []string{"node", "endpoint"} {
		args := []string{role, "-l", "127.0.7.21", "-p", fmt.Sprint(testPort), "--gossip", fmt.Sprintf("127.0.7.21:%d", testGossipPort),
			"--gossip-advertise", fmt.Sprintf("10.0.0.1:%d", testGossipPort)}
		p := testproc.Start(t, role, testproc.ShoalBinary(t), args...)
		if err := p.Wait(t, 10*time.Second); err == nil {
			t.Errorf("%s without a key, advertising 10.0.0.1, started and exited cleanly", role)
		}
		for _, want := range []string{"--gossip-key", "--gossip-insecure", "10.0.0.1"} {
			if !strings.Contains(p.Output(), want) {
				t.Errorf("%s refused without mentioning %q: %s", role, want, p.Output())
			}
		}
		ok := testproc.Start(t, role+" insecure", testproc.ShoalBinary(t), append(args, "--gossip-insecure")...)
		waitFor(t, 10*time.Second, role+" --gossip-insecure starts", func() error {
			if !strings.Contains(ok.Output(), "joined cluster") {
				return fmt.Errorf("output: %s", ok.Output())
			}
			return nil
		})
		ok.Kill()
	}
}
