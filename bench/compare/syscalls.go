package main

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// syscallEvents are the tracepoints counted with --syscalls: every system
// call, and the ones a memcached server spends its kernel time in, so that
// a difference in CPU per op can be read as calls per op (reads that find
// nothing, wake-ups between threads, a runtime's sleeps).
var syscallEvents = []string{
	"raw_syscalls:sys_enter",
	"syscalls:sys_enter_read", "syscalls:sys_enter_write", "syscalls:sys_enter_sendmsg",
	"syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_epoll_pwait",
	"syscalls:sys_enter_futex", "syscalls:sys_enter_nanosleep",
}

// syscallNames are the calls syscallEvents count one by one, as
// parsePerfStat names them.
func syscallNames() []string {
	var names []string
	for _, e := range syscallEvents[1:] {
		names = append(names, strings.TrimPrefix(e, "syscalls:sys_enter_"))
	}
	return names
}

// syscallCounter counts a process's system calls with perf stat's
// tracepoints (Debian's linux-perf) until stop.
type syscallCounter struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

func countSyscalls(pid int) (*syscallCounter, error) {
	c := &syscallCounter{}
	c.cmd = exec.Command("perf", "stat", "-x,", "-e", strings.Join(syscallEvents, ","), "-p", strconv.Itoa(pid))
	c.cmd.Stderr = &c.out
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	time.Sleep(200 * time.Millisecond) // perf attaches before the load starts
	return c, nil
}

// stop ends the count and returns it by call name ("all" for every call).
func (c *syscallCounter) stop() map[string]int64 {
	_ = c.cmd.Process.Signal(os.Interrupt)
	_ = c.cmd.Wait()
	return parsePerfStat(c.out.Bytes())
}

// parsePerfStat reads perf stat -x, lines: count,unit,event,...
func parsePerfStat(b []byte) map[string]int64 {
	counts := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue // "<not supported>", "<not counted>"
		}
		name := strings.TrimPrefix(f[2], "syscalls:sys_enter_")
		if f[2] == "raw_syscalls:sys_enter" {
			name = "all"
		}
		counts[name] = n
	}
	return counts
}

// perfWorks says whether perf can count this machine's syscall tracepoints.
func perfWorks() bool {
	out, err := exec.Command("perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "true").CombinedOutput()
	return err == nil && len(parsePerfStat(out)) > 0
}
