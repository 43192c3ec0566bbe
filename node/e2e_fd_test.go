package node_test

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/node"
)

// Descriptor limits, tested on the real binary started under prlimit
// (util-linux), as an operator's ulimit would start it.

func prlimitPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is needed: %v", err)
	}
	return p
}

// A node with -c as high as its descriptor limit runs out of descriptors
// before it reaches -c connections. It keeps serving the connections it
// has, waits for descriptors without spinning, counts the failed accepts
// as listen_disabled_num, and accepts again once clients leave.
func TestE2EOutOfDescriptors(t *testing.T) {
	p := testproc.StartServer(t, prlimitPath(t), "--nofile=256:256", testproc.ShoalBinary(t), "node", "-c", "256", "-m", "8")
	watch := dialRaw(t, p.Addr)
	var extras []net.Conn
	defer func() {
		for _, nc := range extras {
			nc.Close()
		}
	}()
	for range 300 { // beyond 256 descriptors; the kernel queues the rest
		nc, err := net.DialTimeout("tcp", p.Addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", len(extras), err)
		}
		extras = append(extras, nc)
	}
	st := waitStats(t, watch, "listen_disabled_num > 0", func(st map[string]string) bool {
		return st["listen_disabled_num"] != "0"
	})
	if curr, _ := strconv.Atoi(st["curr_connections"]); curr < 200 || curr > 256 {
		t.Errorf("curr_connections %d with 301 clients and 256 descriptors", curr)
	}
	cpu := cpuOver(t, p.Cmd.Process.Pid, time.Second)
	if cpu > 300*time.Millisecond {
		t.Errorf("the node used %v of CPU in 1s out of descriptors", cpu)
	}
	t.Logf("out of descriptors: curr_connections %s, listen_disabled_num %s, %v of CPU in the next second",
		st["curr_connections"], st["listen_disabled_num"], cpu)
	select {
	case <-p.Exited():
		t.Fatalf("the node exited out of descriptors: %v\n%s", p.Err(), p.Output())
	default:
	}

	for _, nc := range extras {
		nc.Close()
	}
	extras = nil
	fresh := dialRaw(t, p.Addr)
	if got := fresh.call("version\r\n"); got != "VERSION "+node.Version+"\r\n" {
		t.Fatalf("a new connection once clients left: %q", got)
	}
	waitStats(t, watch, "curr_connections 2", func(st map[string]string) bool {
		return st["curr_connections"] == "2"
	})
}

// waitStats polls c's stats until ok holds, for up to 10 s.
func waitStats(t *testing.T, c *rawConn, what string, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := c.stats()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10s: curr_connections %s, listen_disabled_num %q",
				what, st["curr_connections"], st["listen_disabled_num"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cpuOver measures the CPU time (user and system) process pid uses over d.
func cpuOver(t *testing.T, pid int, d time.Duration) time.Duration {
	t.Helper()
	before := cpuTime(t, pid)
	time.Sleep(d)
	return cpuTime(t, pid) - before
}

// cpuTime reads utime and stime from /proc/pid/stat, in clock ticks of
// 10 ms (Linux's USER_HZ).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after it. utime and stime are the 14th and 15th fields.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
