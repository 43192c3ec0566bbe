package discovery

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// netns is a network namespace a test made for itself, with its loopback
// up: the processes started in it reach one another on 127.0.0.x, and
// nothing outside sees that traffic. cut and heal drop and restore traffic
// between two groups of its addresses with policy-routing rules (iproute2).
type netns struct {
	t     *testing.T
	name  string
	dials chan dialReq
}

type dialReq struct {
	addr string
	done chan dialResult
}

type dialResult struct {
	conn net.Conn
	err  error
}

// newNetns makes the namespace, removed when the test ends. It skips the
// test unless it runs as root with iproute2 installed.
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip (make deps installs it)")
	}
	n := &netns{t: t, name: fmt.Sprintf("shoal-test-%d", os.Getpid()), dials: make(chan dialReq)}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Skipf("cannot make a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("removing network namespace %s: %v: %s", n.name, err, out)
		}
	})
	// Rules are looked up in priority order and the local table (where
	// every 127.x address lives) comes first: move it behind the
	// partition's rules. Only this namespace's routing changes.
	n.ip("link set lo up", "rule add pref 1000 lookup local", "rule del pref 0")
	ready := make(chan error)
	go n.serveDials(ready)
	if err := <-ready; err != nil {
		t.Fatalf("entering network namespace %s: %v", n.name, err)
	}
	t.Cleanup(func() { close(n.dials) })
	return n
}

// ip runs iproute2 commands in the namespace.
func (n *netns) ip(cmds ...string) {
	n.t.Helper()
	cmd := exec.Command("ip", "-n", n.name, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("ip -n %s %q: %v: %s", n.name, cmds, err, out)
	}
}

// cut stops every packet between an address of a and one of b, both ways:
// a process bound to one gets "permission denied" sending to the other.
func (n *netns) cut(a, b []string) { n.ip(n.rules("add", a, b)...) }

// heal removes what cut added.
func (n *netns) heal(a, b []string) { n.ip(n.rules("del", a, b)...) }

func (n *netns) rules(op string, a, b []string) []string {
	var cmds []string
	for _, x := range a {
		for _, y := range b {
			cmds = append(cmds, fmt.Sprintf("rule %s pref 10 from %s to %s prohibit", op, x, y),
				fmt.Sprintf("rule %s pref 10 from %s to %s prohibit", op, y, x))
		}
	}
	return cmds
}

// launch starts shoal with args inside the namespace (ip netns exec
// replaces itself with shoal, so signals reach shoal).
func (n *netns) launch(name string, args ...string) *testproc.Proc {
	return testproc.Start(n.t, name, "ip", append([]string{"netns", "exec", n.name, testproc.ShoalBinary(n.t)}, args...)...)
}

// dial connects to an address inside the namespace.
func (n *netns) dial(addr string) (net.Conn, error) {
	r := dialReq{addr: addr, done: make(chan dialResult, 1)}
	n.dials <- r
	res := <-r.done
	return res.conn, res.err
}

// serveDials opens sockets from a thread that has entered the namespace: a
// socket belongs to the namespace of the thread that made it, and may then
// be used from any thread.
func (n *netns) serveDials(ready chan<- error) {
	// Never unlocked: the thread, in the other namespace, ends with the
	// goroutine instead of going back to the scheduler.
	runtime.LockOSThread()
	f, err := os.Open("/run/netns/" + n.name)
	if err == nil {
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
	}
	ready <- err
	if err != nil {
		return
	}
	for r := range n.dials {
		c, err := net.DialTimeout("tcp", r.addr, time.Second)
		r.done <- dialResult{c, err}
	}
}
