package bench

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memcachedPath is the real memcached the end-to-end tests run against;
// `make deps` installs it.
const memcachedPath = "/usr/bin/memcached"

// startMemcached starts a memcached on a free loopback port for the length
// of the test and returns its address.
func startMemcached(t *testing.T, memMB int) string {
	t.Helper()
	if _, err := os.Stat(memcachedPath); err != nil {
		t.Fatalf("memcached is needed (make deps installs it): %v", err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0",
			"-m", strconv.Itoa(memMB), "-t", "2"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root")
		}
		cmd := exec.Command(memcachedPath, args...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("start memcached: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if waitListening(addr, exited) {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			return addr
		}
		_ = cmd.Process.Kill()
		<-exited
	}
	t.Fatal("memcached did not come up")
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening waits, for a few seconds at most, until addr takes
// connections; false if the process exited first (the port was taken).
func waitListening(addr string, exited chan error) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-exited:
			exited <- err
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// stats reads a server's "stats" counters.
func stats(t *testing.T, addr string) map[string]int64 {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "stats\r\n")
	r := bufio.NewReader(c)
	m := map[string]int64{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "END" {
			return m
		}
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "STAT" {
			if n, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				m[f[1]] = n
			}
		}
	}
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
