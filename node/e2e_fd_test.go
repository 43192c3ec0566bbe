package node_test

import (
	"fmt"
	"io"
	"net"
	"os"
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
	return testproc.Tool(t, "prlimit", "util-linux")
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
	if got := fresh.call("version\r\n"); got != "VERSION "+node.ProtocolVersion+"\r\n" {
		t.Fatalf("a new connection once clients left: %q", got)
	}
	waitStats(t, watch, "curr_connections 2", func(st map[string]string) bool {
		return st["curr_connections"] == "2"
	})
}

// A parked connection that becomes readable while the node is out of
// descriptors is served once some are free, not closed: making it a
// connection again takes a descriptor for a moment (net.FileConn), and
// memcached, whose connections keep theirs, loses none there either.
func TestE2EParkedConnectionOutOfDescriptors(t *testing.T) {
	const limit = 256
	p := testproc.StartServer(t, prlimitPath(t), fmt.Sprintf("--nofile=%d:%d", limit, limit),
		testproc.ShoalBinary(t), "node", "-c", strconv.Itoa(limit), "-m", "8")
	parked := dialRaw(t, p.Addr)
	want := "VERSION " + node.ProtocolVersion + "\r\n"
	if got := parked.call("version\r\n"); got != want {
		t.Fatalf("version: %q", got)
	}
	time.Sleep(300 * time.Millisecond) // past a sweep: parked
	var extras []net.Conn
	defer func() {
		for _, nc := range extras {
			nc.Close()
		}
	}()
	for range limit { // the kernel queues those the node cannot accept
		nc, err := net.DialTimeout("tcp", p.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		extras = append(extras, nc)
	}
	for deadline := time.Now().Add(10 * time.Second); p.OpenFiles(t) < limit; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the node has %d descriptors open after 10 s, want %d", p.OpenFiles(t), limit)
		}
	}
	if _, err := io.WriteString(parked.nc, "version\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = parked.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if line, err := parked.r.ReadString('\n'); !isTimeout(err) {
		t.Fatalf("out of descriptors, a parked connection's request got %q, %v; want it waiting", line, err)
	}
	for _, nc := range extras {
		nc.Close()
	}
	extras = nil
	_ = parked.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := parked.r.ReadString('\n'); line != want || err != nil {
		t.Fatalf("once descriptors were free, the parked connection's request got %q, %v; want %q", line, err, want)
	}
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

// memcachedRefusal is memcached 1.6's message when -c exceeds what it may
// set its descriptor limit to.
const memcachedRefusal = "failed to set rlimit for open files. Try starting as root or requesting smaller maxconns value."

// A -c beyond the hard descriptor limit, or beyond the kernel's nr_open,
// refuses to start with memcached's message, as memcached does (which
// exits with EX_OSERR, 71; shoal with 1, as on any bad setting).
func TestE2EConnLimitBeyondDescriptors(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	nrOpen, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		conns int
	}{{"beyond the hard limit", 1024}, {"beyond nr_open", nrOpen + 1}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.conns <= nrOpen && mayRaiseHardLimits(t) {
				t.Skip("this process may raise its hard limit (CAP_SYS_RESOURCE), and so may the servers")
			}
			c := strconv.Itoa(tc.conns)
			shoal := startLimited(t, testproc.ShoalBinary(t), "node", "-c", c)
			want := "shoal: " + memcachedRefusal + " (-c " + c + " needs at least " + c +
				" open files, the hard limit is 256: operation not permitted)\n"
			if err := shoal.Wait(t, 10*time.Second); err == nil || err.Error() != "exit status 1" || shoal.Output() != want {
				t.Errorf("shoal: %v, output\n%q\nwant exit status 1 and\n%q", err, shoal.Output(), want)
			}
			if testing.Short() {
				return // memcached may not be installed
			}
			mc := startLimited(t, testproc.Tool(t, "memcached", "memcached"), "-u", "nobody", "-U", "0", "-c", c)
			if err := mc.Wait(t, 10*time.Second); err == nil || err.Error() != "exit status 71" || mc.Output() != memcachedRefusal+"\n" {
				t.Errorf("memcached: %v, output %q", err, mc.Output())
			}
		})
	}
}

// startLimited starts a server under prlimit --nofile=256:256 on a free
// port, without waiting for it to listen.
func startLimited(t *testing.T, bin string, args ...string) *testproc.Proc {
	host, port, _ := net.SplitHostPort(testproc.FreeAddr(t))
	args = append([]string{"--nofile=256:256", bin}, append(args, "-l", host, "-p", port)...)
	return testproc.Start(t, "prlimit "+bin, prlimitPath(t), args...)
}

// mayRaiseHardLimits reports whether this process has CAP_SYS_RESOURCE
// (capability 24), which lets it and its children raise hard limits.
func mayRaiseHardLimits(t *testing.T) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return caps&(1<<24) != 0
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return false
}
