package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The connections workload: a crowd of 10,000 connections that are idle,
// or slow (each sending a get one byte a second), beside the 50 busy
// connections of get90. It answers what a crowd costs a server: resident
// memory per crowd connection, and the busy connections' throughput and
// p99 against the same load without the crowd.

// crowdSize is how many connections a crowd opens.
const crowdSize = 10000

// crowdKind is what the crowd's connections do.
type crowdKind int

const (
	noCrowd   crowdKind = iota
	idleCrowd           // one request each, then nothing
	slowCrowd           // a get each, one byte a second, over and over
)

// crowdSettle is how long a crowd is left before the memory it costs is
// read: shoal parks idle connections after a sweep or two (100 ms each)
// and gives back what they freed after another; every slow connection
// has sent a few bytes by then.
const crowdSettle = 3 * time.Second

// connWorkload is a load and the crowd beside it.
type connWorkload struct {
	workload
	crowd crowdKind
}

func connectionWorkloads(d time.Duration) []connWorkload {
	busy := filterWorkloads(workloads(d), "get90")[0]
	with := func(name, what string, k crowdKind) connWorkload {
		w := busy
		w.name, w.what = name, what
		return connWorkload{w, k}
	}
	return []connWorkload{
		with("busy-only", "get90's 50 busy connections alone", noCrowd),
		with("busy+10k-idle", "get90's 50 busy connections beside 10,000 idle ones (each made one request)", idleCrowd),
		with("busy+10k-slow", "get90's 50 busy connections beside 10,000 slow ones (each sends a get one byte a second)", slowCrowd),
	}
}

// crowd is a crowd's open connections; its zero value is no crowd.
type crowd struct {
	conns []net.Conn
	stop  chan struct{} // nil for no crowd
	done  chan struct{}
}

// openCrowdOn opens a crowd of kind k on srv, waits crowdSettle, and
// returns what it cost srv in resident memory, per connection (KB).
func openCrowdOn(srv *server, k crowdKind) (float64, *crowd, error) {
	before, err := srv.rssKiB()
	if err != nil {
		return 0, &crowd{}, err
	}
	cr, err := openCrowd(srv.addr, k)
	if err != nil {
		return 0, &crowd{}, err
	}
	time.Sleep(crowdSettle)
	after, err := srv.rssKiB()
	if err != nil {
		return 0, cr, fmt.Errorf("%w (the server's output: %s)", err, srv.log)
	}
	return float64(after-before) / crowdSize, cr, nil
}

// openCrowd opens a crowd of kind k on addr.
func openCrowd(addr string, k crowdKind) (*crowd, error) {
	cr := &crowd{stop: make(chan struct{}), done: make(chan struct{})}
	reply := make([]byte, 64)
	for range crowdSize {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			cr.close()
			return nil, fmt.Errorf("crowd connection %d: %w", len(cr.conns), err)
		}
		cr.conns = append(cr.conns, nc)
		if k == idleCrowd {
			_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(nc, "version\r\n"); err != nil {
				cr.close()
				return nil, err
			}
			if n, err := nc.Read(reply); err != nil || !strings.HasPrefix(string(reply[:n]), "VERSION ") {
				cr.close()
				return nil, fmt.Errorf("crowd connection %d: %q %v", len(cr.conns), reply[:n], err)
			}
		}
	}
	if k == slowCrowd {
		go cr.trickle()
	} else {
		close(cr.done)
	}
	return cr, nil
}

// slowRequest is what a slow connection sends, a byte at a time: a get
// that misses, so the reply (END) is five bytes, left unread.
const slowRequest = "get slow-crowd\r\n"

// trickle sends each slow connection one byte a second, spread over the
// second in 100 slices, until close.
func (cr *crowd) trickle() {
	defer close(cr.done)
	const slices = 100
	tick := time.NewTicker(time.Second / slices)
	defer tick.Stop()
	var b [1]byte
	for n := 0; ; n++ {
		select {
		case <-cr.stop:
			return
		case <-tick.C:
		}
		slice, second := n%slices, n/slices
		b[0] = slowRequest[second%len(slowRequest)]
		for i := slice; i < len(cr.conns); i += slices {
			_ = cr.conns[i].SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = cr.conns[i].Write(b[:])
		}
	}
}

func (cr *crowd) close() {
	if cr.stop == nil {
		return
	}
	select {
	case <-cr.stop:
	default:
		close(cr.stop)
	}
	<-cr.done
	for _, nc := range cr.conns {
		nc.Close()
	}
}

// raiseFileLimit lets this process hold a crowd and the busy connections.
func raiseFileLimit() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	want := uint64(crowdSize + 1000)
	if lim.Cur >= want {
		return nil
	}
	if lim.Max < want {
		return fmt.Errorf("the connections workload needs %d open files, the hard limit is %d", want, lim.Max)
	}
	lim.Cur = want
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// runConnections runs the connections workloads on a and b, alternating,
// for rounds, and writes connections.md and connections.json to out.
func runConnections(ctx context.Context, a, b serverSpec, o options) error {
	if err := raiseFileLimit(); err != nil {
		return err
	}
	for _, s := range []*serverSpec{&a, &b} {
		s.extra = append(s.extra, "-c", fmt.Sprint(crowdSize+500))
	}
	tick, err := clockTicks()
	if err != nil {
		return err
	}
	started := time.Now()
	wls := connectionWorkloads(o.duration)
	if o.only != "" {
		wls = slices.DeleteFunc(wls, func(w connWorkload) bool { return !slices.Contains(strings.Split(o.only, ","), w.name) })
	}
	var runs []runResult
	for round := 1; round <= o.rounds; round++ {
		for _, wl := range wls {
			for _, s := range []serverSpec{a, b} {
				r, err := measure(ctx, s, wl.workload, tick, extras{crowd: wl.crowd})
				if err != nil {
					return fmt.Errorf("round %d, %s on %s: %w", round, wl.name, s.name, err)
				}
				r.Round = round
				runs = append(runs, r)
				fmt.Printf("round %d/%d  %-13s %-10s %9.0f ops/s  p99 %8.1fus  cpu %6.2fus/op  crowd %6.3f KB/conn  rss %6.0f MiB  other load %.2f CPU\n",
					round, o.rounds, wl.name, s.name, r.Throughput, r.P99us, r.CPUusPerOp, r.CrowdKBPerConn, r.RSSMiB, r.OtherCPU)
			}
		}
	}
	rep := report{A: a.name, B: b.name, Options: o, Runs: runs,
		Machine: machine(a, b), Took: time.Since(started)}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	md := rep.connectionsMarkdown()
	fmt.Print("\n" + md)
	if err := os.WriteFile(filepath.Join(o.out, "connections.md"), []byte(md), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(struct {
		Machine map[string]string `json:"machine"`
		Runs    []runResult       `json:"runs"`
	}{rep.Machine, runs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.out, "connections.json"), append(js, '\n'), 0o644)
}

var crowdMetric = metric{"resident memory per crowd connection", "KB", false,
	func(r runResult) float64 { return r.CrowdKBPerConn }, "%.3f"}

// connectionsMarkdown is the report of the connections workloads: medians
// per server, B / A, and each server's busy figures against its own
// busy-only run.
func (rep *report) connectionsMarkdown() string {
	o := rep.Options
	var b strings.Builder
	fmt.Fprintf(&b, "# Connections: %s compared with %s\n\n", rep.B, rep.A)
	fmt.Fprintf(&b, "Measured %s by `make bench-connections` (bench/compare --connections) in %s, on %s, %s CPUs.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), rep.Took.Round(time.Second), rep.Machine["cpu"], rep.Machine["cpus"])
	fmt.Fprintf(&b, "Each server pinned to CPU %s with -m %d -t %d -c %d; the load generator and the crowd pinned to another\n"+
		"CPU. Every run starts a fresh server, fills get90's key space, opens the crowd (%d connections: idle ones make\n"+
		"one request each; slow ones each send `get slow-crowd` one byte a second, round and round), waits %s,\n"+
		"reads resident memory (VmRSS; per crowd connection: its growth since before the crowd, over %d), then runs\n"+
		"get90's 50 busy connections for %s. Medians of %d alternated rounds; \"vs busy-only\" is the server's\n"+
		"figure over its own busy-only median.\n\n",
		o.cpu, o.memoryMB, o.threads, crowdSize+500, crowdSize, crowdSettle, crowdSize, o.duration, o.rounds)
	ms := []metric{metrics[0], metrics[1], metrics[2], crowdMetric}
	b.WriteString("| load | server |")
	for _, m := range ms {
		fmt.Fprintf(&b, " %s (%s) |", m.name, m.unit)
	}
	b.WriteString(" throughput vs busy-only | p99 vs busy-only |\n|---|---|" + strings.Repeat("---:|", len(ms)+2) + "\n")
	for _, wl := range connectionWorkloads(o.duration) {
		for _, s := range []string{rep.A, rep.B} {
			fmt.Fprintf(&b, "| %s | %s |", wl.name, s)
			for _, m := range ms {
				fmt.Fprintf(&b, " "+m.format+" |", rep.median(wl.name, s, m))
			}
			fmt.Fprintf(&b, " %.2f | %.2f |\n",
				rep.median(wl.name, s, metrics[0])/rep.median("busy-only", s, metrics[0]),
				rep.median(wl.name, s, metrics[1])/rep.median("busy-only", s, metrics[1]))
		}
		fmt.Fprintf(&b, "| %s | %s / %s |", wl.name, rep.B, rep.A)
		for _, m := range ms {
			if r := rep.ratio(wl.name, m); math.IsNaN(r) {
				b.WriteString(" |") // no crowd
			} else {
				fmt.Fprintf(&b, " %.2f |", r)
			}
		}
		b.WriteString(" | |\n")
	}
	if busy := rep.maxOtherCPU(); busy > otherLoadWarn {
		fmt.Fprintf(&b, "\n**Other work was running on the machine** (up to %.2f CPU besides the server and the\n"+
			"load generator, see \"other CPU\" below): throughput, p99 and CPU figures are skewed by it;\n"+
			"memory per connection is not.\n", busy)
	}
	b.WriteString("\n## Every run\n\n| round | load | server | ops/s | p99 µs | CPU µs/op | crowd KB/conn | RSS MiB | other CPU |\n" +
		"|---:|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Runs {
		fmt.Fprintf(&b, "| %d | %s | %s | %.0f | %.0f | %.2f | %.3f | %.0f | %.2f |\n",
			r.Round, r.Workload, r.Server, r.Throughput, r.P99us, r.CPUusPerOp, r.CrowdKBPerConn, r.RSSMiB, r.OtherCPU)
	}
	return b.String()
}
