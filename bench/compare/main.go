// Command compare measures shoal against memcached side by side, as
// `make bench-compare` runs it: each server pinned to one CPU, the load
// generator (package bench) on another, the same workloads on both in
// alternation over several rounds. It writes a markdown table of the
// medians and their ratios, a chart and the raw runs to an output folder.
//
// Run it pinned to the generator's CPU (taskset -c 1), so that the
// generator and the server never share a core.
package main

import (
	"context"
	"fmt"
	"github.com/shoal-cache/shoal/internal/selfcert"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoal-cache/shoal/internal/settings"
)

func main() {
	o, set := defaultOptions(), settings.New(pflag.CommandLine)
	compareOptions(set.Flags, &o)
	pflag.Parse()
	if err := set.Load(); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func defaultOptions() options {
	return options{memcached: "/usr/bin/memcached", shoal: "bin/shoal", b: "shoal", memoryMB: 1024, threads: 1, cpu: "0",
		rounds: 3, duration: 4 * time.Second, out: "bench/results"}
}

// compareOptions declares the options, bound to o.
func compareOptions(f *pflag.FlagSet, o *options) {
	f.StringVar(&o.memcached, "memcached", o.memcached, "memcached binary")
	f.StringVar(&o.shoal, "shoal", o.shoal, "shoal binary")
	f.StringVarP(&o.b, "against", "b", o.b, "the server compared with memcached: shoal, or memcached to try the harness")
	f.IntVarP(&o.memoryMB, "memory-limit", "m", o.memoryMB, "memory limit of each server, in megabytes")
	f.IntVarP(&o.threads, "threads", "t", o.threads, "threads of each server")
	f.StringVar(&o.cpu, "server-cpu", o.cpu, "CPUs the servers are pinned to, as taskset -c takes them (0, or 0,1 with -t 2)")
	f.IntVar(&o.rounds, "rounds", o.rounds, "rounds of A B runs")
	f.DurationVar(&o.duration, "duration", o.duration, "measured load per run")
	f.StringVar(&o.out, "out", o.out, "folder of the results")
	f.StringVar(&o.only, "only", o.only, "run only the workload of this name")
	f.BoolVar(&o.syscalls, "syscalls", o.syscalls, "count each server's system calls per op (perf stat's tracepoints; perturbs the timings a little)")
	f.BoolVar(&o.tls, "tls", o.tls, "both servers with TLS (-Z, a throwaway certificate), the load over TLS")
	f.BoolVar(&o.memory, "memory-sweep", o.memory, "instead of the workloads, the resident memory sweep (memory.md)")
	f.BoolVar(&o.misses, "miss-ratio", o.misses, "instead of the workloads, the miss ratio under memory pressure (missratio.md)")
	f.BoolVar(&o.conns, "connections", o.conns, "instead of the workloads, 50 busy connections beside 10,000 idle or slow ones (connections.md)")
}

type options struct {
	memcached, shoal, b string
	memoryMB, threads   int
	rounds              int
	cpu                 string
	duration            time.Duration
	out, only           string
	tls, memory, misses bool
	syscalls            bool
	conns               bool
}

func run(ctx context.Context, o options) error {
	if runtime.GOMAXPROCS(0) != 1 {
		fmt.Fprintf(os.Stderr, "compare: warning: the load generator may use %d CPUs; run it under taskset -c <one CPU>\n",
			runtime.GOMAXPROCS(0))
	}
	a := serverSpec{name: "memcached", kind: "memcached", bin: o.memcached}
	b := serverSpec{name: "shoal", kind: "shoal", bin: o.shoal}
	if o.b == "memcached" {
		b = serverSpec{name: "memcached-b", kind: "memcached", bin: o.memcached}
	}
	for _, s := range []*serverSpec{&a, &b} {
		s.memoryMB, s.threads, s.cpu = o.memoryMB, o.threads, o.cpu
		if _, err := os.Stat(s.bin); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if o.memory {
		return runMemorySweep(ctx, a, b, o.out)
	}
	if o.misses {
		return runMissRatio(ctx, a, b, o.out)
	}
	if o.conns {
		return runConnections(ctx, a, b, o)
	}
	wls := workloads(o.duration)
	if o.tls {
		dir, err := os.MkdirTemp("", "shoal-compare-tls-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		files, err := selfcert.Make(dir, "127.0.0.1")
		if err != nil {
			return err
		}
		cfg, err := files.ClientConfig()
		if err != nil {
			return err
		}
		a.extra, b.extra = files.ServerOptions(), files.ServerOptions()
		for i := range wls {
			wls[i].cfg.Connect.TLS = cfg
		}
	}
	if o.only != "" {
		wls = filterWorkloads(wls, o.only)
		if len(wls) == 0 {
			return fmt.Errorf("no workload named %q", o.only)
		}
	}
	if o.syscalls && !perfWorks() {
		return fmt.Errorf("--syscalls: perf cannot count raw_syscalls:sys_enter here (install linux-perf; run as root)")
	}
	tick, err := clockTicks()
	if err != nil {
		return err
	}

	started := time.Now()
	var runs []runResult
	for round := 1; round <= o.rounds; round++ {
		for _, wl := range wls {
			for _, s := range []serverSpec{a, b} {
				r, err := measure(ctx, s, wl, tick, extras{syscalls: o.syscalls})
				if err != nil {
					return fmt.Errorf("round %d, %s on %s: %w", round, wl.name, s.name, err)
				}
				r.Round = round
				runs = append(runs, r)
				fmt.Printf("round %d/%d  %-11s %-11s %9.0f ops/s  p99 %8.1fus  cpu %6.2fus/op  rss %6.0f MiB  hits %5.1f%%  wrong %d  errors %d  other load %.2f CPU\n",
					round, o.rounds, wl.name, s.name, r.Throughput, r.P99us, r.CPUusPerOp, r.RSSMiB,
					r.HitPct, r.VerifyErrors, r.Errors, r.OtherCPU)
				if o.syscalls {
					fmt.Printf("           syscalls/op %.2f (read %.2f)\n", r.Syscalls["all"], r.Syscalls["read"])
				}
			}
		}
	}
	rep := report{
		A: a.name, B: b.name, Options: o, Workloads: wls, Runs: runs,
		Machine: machine(a, b), Took: time.Since(started),
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(*os.File) error{
		"latest.md":   rep.writeMarkdown,
		"latest.svg":  rep.writeSVG,
		"latest.json": rep.writeJSON,
	} {
		if err := writeFile(filepath.Join(o.out, name), write); err != nil {
			return err
		}
	}
	fmt.Printf("\n%s\nwrote %s/latest.{md,svg,json} in %s\n", rep.table(), o.out, time.Since(started).Round(time.Second))
	return nil
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
