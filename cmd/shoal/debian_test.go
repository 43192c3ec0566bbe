package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// debianWrapper is the script Debian's memcached.service runs.
const debianWrapper = "/usr/share/memcached/scripts/systemd-memcached-wrapper"

// runDir is a folder the node may write its pid file in and, once it has
// dropped root for Debian's memcache user, remove it from.
func runDir(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Dir(dir), 0o711}, {dir, 0o777}} {
		if err := os.Chmod(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantUID is the user a node given -u memcache runs as: memcache when
// started as root, else whoever started it.
func wantUID(t *testing.T) int {
	if os.Geteuid() != 0 {
		return os.Geteuid()
	}
	u, err := user.Lookup("memcache")
	if err != nil {
		t.Skip("Debian's memcache user is missing (the memcached package creates it)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	return uid
}

// uidOf is the real uid of process pid.
func uidOf(t *testing.T, pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, _ := strconv.Atoi(strings.Fields(rest)[0])
			return uid
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return -1
}

// readPid reads a pid file, which must name a running process.
func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSuffix(string(b), "\n"))
	if err != nil || !strings.HasSuffix(string(b), "\n") || syscall.Kill(pid, 0) != nil {
		t.Fatalf("pid file %q does not hold a running process's id and a newline", b)
	}
	return pid
}

// stopPid stops process pid with SIGTERM and waits until it is gone.
func stopPid(t *testing.T, pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still running 10 s after SIGTERM", pid)
		}
	}
}

// Debian's /etc/memcached.conf, as shipped, starts a node: -d daemonizes
// (the command returns once the daemon listens), -P writes its pid, -u
// memcache drops root, -m and -l apply; the test's options win over the
// file's for the port, the pid file and the log.
func TestDebianMemcachedConf(t *testing.T) {
	dir := runDir(t)
	pidFile, logFile := filepath.Join(dir, "memcached.pid"), filepath.Join(dir, "memcached.log")
	addr := testproc.FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	p := testproc.Start(t, "shoal", testproc.ShoalBinary(t), "node", "--config", "testdata/memcached.conf",
		"-p", port, "-P", pidFile, "--logfile", logFile)
	if err := p.Wait(t, 15*time.Second); err != nil {
		t.Fatalf("shoal node --config testdata/memcached.conf: %v\n%s", err, p.Output())
	}
	if out := p.Output(); out != "" {
		t.Errorf("the starting command wrote %q; a daemon's output is its log's", out)
	}
	pid := readPid(t, pidFile)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	st := statsOf(t, addr, "")
	if st["pid"] != strconv.Itoa(pid) || st["limit_maxbytes"] != "67108864" {
		t.Errorf("the node at %s has pid %s and limit_maxbytes %s, want %d and 64 MB", addr, st["pid"], st["limit_maxbytes"], pid)
	}
	if uid, want := uidOf(t, pid), wantUID(t); uid != want {
		t.Errorf("the daemon runs as uid %d, want %d", uid, want)
	}
	stopPid(t, pid)
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after the daemon stopped: %v", err)
	}
	log, _ := os.ReadFile(logFile)
	if !bytes.Contains(log, []byte("shoal node started")) {
		t.Errorf("log file: %q, want the startup line", log)
	}
	wantWarnings := []string(nil)
	if os.Geteuid() != 0 {
		wantWarnings = []string{"-u (--user) is ignored: shoal is not running as root"}
	}
	if w := warnings(string(log)); strings.Join(w, "\n") != strings.Join(wantWarnings, "\n") {
		t.Errorf("warnings %q, want %q", w, wantWarnings)
	}
}

// The command line Debian's systemd unit runs memcached with starts a node
// the same way (in the foreground: the wrapper drops -d), the test's
// port and pid file given after it.
func TestDebianSystemdCommandLine(t *testing.T) {
	b, err := os.ReadFile("testdata/memcached-systemd.args")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Fields(string(b))
	if derived, ok := deriveSystemdArgs(t); ok && derived != string(b) {
		t.Fatalf("Debian's wrapper now runs memcached with %q, testdata has %q", derived, b)
	}
	pidFile := filepath.Join(runDir(t), "memcached.pid")
	p := testproc.StartShoal(t, append(append([]string{"node"}, args...), "-P", pidFile)...)
	if pid := readPid(t, pidFile); pid != p.Cmd.Process.Pid {
		t.Errorf("pid file holds %d, the node is %d", pid, p.Cmd.Process.Pid)
	}
	if uid, want := uidOf(t, p.Cmd.Process.Pid), wantUID(t); uid != want {
		t.Errorf("the node runs as uid %d, want %d", uid, want)
	}
	if st := statsOf(t, p.Addr, "settings"); st["maxbytes"] != "67108864" || st["inter"] != "127.0.0.1" {
		t.Errorf("settings maxbytes %s inter %s, want 64 MB on 127.0.0.1", st["maxbytes"], st["inter"])
	}
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(t, 10*time.Second); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after the node stopped: %v", err)
	}
}

// deriveSystemdArgs runs Debian's wrapper on testdata's memcached.conf with
// echo in memcached's place, when the wrapper is installed and this is
// root (it runs only for root).
func deriveSystemdArgs(t *testing.T) (string, bool) {
	script, err := os.ReadFile(debianWrapper)
	if err != nil || os.Geteuid() != 0 {
		return "", false
	}
	const memcached = `my $memcached = "/usr/bin/memcached";`
	if !bytes.Contains(script, []byte(memcached)) {
		t.Fatalf("%s no longer has the line %s", debianWrapper, memcached)
	}
	script = bytes.Replace(script, []byte(memcached), []byte(`my $memcached = "echo";`), 1)
	cmd := exec.Command(testproc.Tool(t, "perl", "perl"), "-", "testdata/memcached.conf")
	cmd.Stdin = bytes.NewReader(script)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running %s: %v", debianWrapper, err)
	}
	return string(out), true
}

// A daemon that cannot start says why on the terminal, and the command
// fails, where memcached's would fail in silence after forking.
func TestDaemonStartFailureShows(t *testing.T) {
	busy := testproc.StartShoal(t, "node")
	host, port, _ := strings.Cut(busy.Addr, ":")
	p := testproc.Start(t, "shoal", testproc.ShoalBinary(t), "node", "-d", "-l", host, "-p", port)
	err := p.Wait(t, 15*time.Second)
	out := p.Output()
	if err == nil || !strings.Contains(out, "shoal: listening on "+busy.Addr+": listen tcp "+busy.Addr+": bind: address already in use\n") ||
		!strings.HasSuffix(out, "shoal: -d: the daemon exited before it was ready: exit status 1\n") {
		t.Errorf("exit %v, output:\n%s", err, out)
	}
}
