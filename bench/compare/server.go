package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-cache/shoal/bench"
)

// serverSpec is how to start one side of the comparison.
type serverSpec struct {
	name, kind, bin   string
	memoryMB, threads int
	cpu               string   // a taskset CPU list
	extra             []string // more options (TLS)
}

// server is a running server process, pinned to its CPU.
type server struct {
	addr   string
	cmd    *exec.Cmd
	exited chan error
	log    *bytes.Buffer
}

// start runs the server on a free loopback port under taskset. Both kinds
// take memcached's -p, -l, -m and -t.
func (s serverSpec) start() (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"-c", s.cpu, s.bin}
	if s.kind == "shoal" {
		args = append(args, "node")
	}
	args = append(args, "-p", strconv.Itoa(port), "-l", "127.0.0.1",
		"-m", strconv.Itoa(s.memoryMB), "-t", strconv.Itoa(s.threads))
	args = append(args, s.extra...)
	if s.kind == "memcached" && os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached will not run as root otherwise
	}
	srv := &server{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		cmd:    exec.Command("taskset", args...),
		exited: make(chan error, 1),
		log:    new(bytes.Buffer),
	}
	srv.cmd.Stdout, srv.cmd.Stderr = srv.log, srv.log
	if err := srv.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { srv.exited <- srv.cmd.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-srv.exited:
			return nil, fmt.Errorf("%s exited: %v: %s", s.name, err, srv.log)
		default:
		}
		if c, err := net.DialTimeout("tcp", srv.addr, 100*time.Millisecond); err == nil {
			c.Close()
			return srv, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.stop()
	return nil, fmt.Errorf("%s did not listen on %s: %s", s.name, srv.addr, srv.log)
}

func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cpuTicks is the CPU time the process has used, user and system, in clock
// ticks: fields 14 and 15 of /proc/<pid>/stat, counted after the command
// name, which may hold spaces.
func (s *server) cpuTicks() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return parseCPUTicks(b)
}

func parseCPUTicks(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("odd /proc stat %q", b)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("odd /proc stat %q", b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("odd /proc stat %q", b)
	}
	return utime + stime, nil
}

// rssKiB is the process's resident memory, VmRSS of /proc/<pid>/status.
func (s *server) rssKiB() (int64, error) { return s.statusKiB("VmRSS") }

// statusKiB is a field of /proc/<pid>/status counted in kB.
func (s *server) statusKiB(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKiB(b, field)
}

func parseRSS(b []byte) (int64, error) { return parseStatusKiB(b, "VmRSS") }

func parseStatusKiB(b []byte, field string) (int64, error) {
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %q", field, b)
}

// clockTicks is how many clock ticks make a second (USER_HZ).
func clockTicks() (float64, error) {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 0, fmt.Errorf("getconf CLK_TCK: %w", err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}

// runResult is one run of one workload on one server.
type runResult struct {
	Round        int     `json:"round"`
	Workload     string  `json:"workload"`
	Server       string  `json:"server"`
	Throughput   float64 `json:"throughput"`
	P50us        float64 `json:"p50_us"`
	P99us        float64 `json:"p99_us"`
	CPUusPerOp   float64 `json:"cpu_us_per_op"`
	RSSMiB       float64 `json:"rss_mib"`
	HitPct       float64 `json:"hit_pct"`
	Ops          int64   `json:"requests"`
	FillSets     int64   `json:"fill_sets"`
	FillSeconds  float64 `json:"fill_s"`
	VerifyErrors int64   `json:"verify_errors"`
	// Syscalls counts the server's system calls per op over the load, by
	// call name ("all": every call), with --syscalls.
	Syscalls map[string]float64 `json:"syscalls_per_op,omitempty"`
	Errors   int64              `json:"errors"`
	OtherCPU float64            `json:"other_cpu"` // CPUs busy with other work, on average
	// CrowdKBPerConn is what the workload's crowd of connections cost the
	// server in resident memory, per connection (connections.go).
	CrowdKBPerConn float64 `json:"crowd_kb_per_conn,omitempty"`
}

// extras are what a run measures besides the load: the server's system
// calls (--syscalls), or a crowd of connections opened after the fill
// (connections.go).
type extras struct {
	syscalls bool
	crowd    crowdKind
}

// measure starts a fresh server, fills the key space, then reads the
// server's CPU clock around the measured load, and its memory at the end.
func measure(ctx context.Context, s serverSpec, wl workload, ticksPerSec float64, x extras) (runResult, error) {
	srv, err := s.start()
	if err != nil {
		return runResult{}, err
	}
	cr := &crowd{}
	defer func() {
		// The server goes first, so that it, not this process, holds the
		// crowd's closed ports in TIME_WAIT.
		srv.stop()
		cr.close()
	}()
	cfg := wl.cfg
	cfg.Servers = []string{srv.addr}
	r := runResult{Workload: wl.name, Server: s.name}

	// memcached 1.6.18 -Z stalls on pipelined requests (those still in
	// OpenSSL's buffer wait for the socket to become readable again), so
	// over TLS both servers start empty: the load's sets fill them.
	if cfg.Connect.TLS == nil {
		fillStart := time.Now()
		sets, _, err := bench.Fill(ctx, cfg)
		if err != nil {
			return r, err
		}
		r.FillSets, r.FillSeconds = sets, time.Since(fillStart).Seconds()
	}

	if x.crowd != noCrowd {
		if r.CrowdKBPerConn, cr, err = openCrowdOn(srv, x.crowd); err != nil {
			return r, err
		}
	}
	var counter *syscallCounter
	if x.syscalls {
		if counter, err = countSyscalls(srv.cmd.Process.Pid); err != nil {
			return r, fmt.Errorf("perf stat: %w", err)
		}
	}
	c0, err := readClock(srv)
	if err != nil {
		return r, err
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return r, err
	}
	if counter != nil {
		r.Syscalls = map[string]float64{}
		for name, n := range counter.stop() {
			r.Syscalls[name] = float64(n) / float64(max(res.Ops, 1))
		}
	}
	c1, err := readClock(srv)
	if err != nil {
		return r, err
	}
	rss, err := srv.rssKiB()
	if err != nil {
		return r, err
	}
	if res.Ops == 0 {
		return r, fmt.Errorf("no requests answered")
	}
	if n := res.Nodes[0]; res.Failed > 0 || n.ConnErrors > 0 {
		// A comparison of a server that failed would measure the failure.
		return r, fmt.Errorf("%s: %d requests got no reply, %d connection errors; last: %s",
			n.Server, res.Failed, n.ConnErrors, n.Err)
	}
	r.Throughput = res.Throughput()
	r.P50us = float64(res.Latency.P50) / 1e3
	r.P99us = float64(res.Latency.P99) / 1e3
	r.CPUusPerOp = float64(c1.server-c0.server) / ticksPerSec * 1e6 / float64(res.Ops)
	other := (c1.machine - c0.machine) - (c1.server - c0.server) - (c1.self - c0.self)
	r.OtherCPU = max(0, float64(other)/ticksPerSec/res.Elapsed.Seconds())
	r.RSSMiB = float64(rss) / 1024
	if res.Keys > 0 {
		r.HitPct = 100 * float64(res.Hits) / float64(res.Keys)
	}
	r.Ops, r.VerifyErrors, r.Errors = res.Ops, res.VerifyErrors, res.Errors
	return r, nil
}

// machine describes where the comparison ran.
func machine(a, b serverSpec) map[string]string {
	m := map[string]string{}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	m["cpus"] = strconv.Itoa(numCPU())
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m["kernel"] = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		m["memory"] = strings.Join(strings.Fields(strings.TrimPrefix(line, "MemTotal:")), " ")
	}
	for _, s := range []serverSpec{a, b} {
		args := []string{"-V"}
		if s.kind == "shoal" {
			args = []string{"--version"}
		}
		if out, err := exec.Command(s.bin, args...).Output(); err == nil {
			m[s.name] = strings.TrimSpace(string(out))
		}
	}
	return m
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\nprocessor") + 1
}
