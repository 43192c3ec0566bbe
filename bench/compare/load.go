package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Other processes on the machine skew a comparison, and no pinning keeps
// them away. Each run therefore measures how much CPU went to anything but
// the server and the load generator: the machine's busy time from
// /proc/stat less the two processes' own. Time the kernel spends on
// loopback traffic outside either process counts as "other" too, so the
// figure is an upper bound.

// machineBusy is the busy time of all CPUs, in clock ticks: user, nice,
// system and steal of the "cpu" line of /proc/stat.
func machineBusy() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineBusy(b)
}

func parseMachineBusy(b []byte) (int64, error) {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("odd /proc/stat %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 8} { // user nice system steal
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("odd /proc/stat %q", line)
		}
		busy += n
	}
	return busy, nil
}

// selfTicks is this process's CPU time, in clock ticks.
func selfTicks() (int64, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, err
	}
	return parseCPUTicks(b)
}

// cpuClock samples the three clocks a run needs.
type cpuClock struct{ machine, self, server int64 }

func readClock(srv *server) (cpuClock, error) {
	var c cpuClock
	var err error
	if c.machine, err = machineBusy(); err != nil {
		return c, err
	}
	if c.self, err = selfTicks(); err != nil {
		return c, err
	}
	c.server, err = srv.cpuTicks()
	return c, err
}
