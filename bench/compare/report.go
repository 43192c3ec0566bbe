package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"
)

// report is a finished comparison of server B against server A.
type report struct {
	A, B      string
	Options   options
	Workloads []workload
	Runs      []runResult
	Machine   map[string]string
	Took      time.Duration
}

// metric is one measure the comparison reports, with the direction that is
// better.
type metric struct {
	name, unit   string
	higherBetter bool
	get          func(runResult) float64
	format       string
}

var metrics = []metric{
	{"throughput", "ops/s", true, func(r runResult) float64 { return r.Throughput }, "%.0f"},
	{"p99 latency", "µs", false, func(r runResult) float64 { return r.P99us }, "%.0f"},
	{"server CPU per op", "µs", false, func(r runResult) float64 { return r.CPUusPerOp }, "%.2f"},
	{"resident memory", "MiB", false, func(r runResult) float64 { return r.RSSMiB }, "%.0f"},
}

// syscallsMetric is every system call per op, reported with --syscalls.
var syscallsMetric = metric{"syscalls per op", "calls", false, func(r runResult) float64 { return r.Syscalls["all"] }, "%.2f"}

// shown are the metrics of this report's table and chart.
func (rep *report) shown() []metric {
	if rep.Options.syscalls {
		return append(append([]metric(nil), metrics...), syscallsMetric)
	}
	return metrics
}

// median of one metric over the rounds of a workload on a server.
func (rep *report) median(wl, server string, m metric) float64 {
	var xs []float64
	for _, r := range rep.Runs {
		if r.Workload == wl && r.Server == server {
			xs = append(xs, m.get(r))
		}
	}
	return median(xs)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	xs = append([]float64(nil), xs...)
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func (rep *report) ratio(wl string, m metric) float64 {
	return rep.median(wl, rep.B, m) / rep.median(wl, rep.A, m)
}

// meets reports whether B is at least as good as A on a ratio, as shown:
// to two decimals.
func (m metric) meets(ratio float64) bool {
	ratio = math.Round(ratio*100) / 100
	if m.higherBetter {
		return ratio >= 1
	}
	return ratio <= 1
}

// table is the markdown table of medians and ratios.
func (rep *report) table() string {
	var b strings.Builder
	b.WriteString("| workload |")
	for _, m := range rep.shown() {
		fmt.Fprintf(&b, " %s %s (%s) | %s | ratio |", m.name, rep.A, m.unit, rep.B)
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---:|---:|---:|", len(rep.shown())))
	b.WriteString("\n")
	for _, wl := range rep.Workloads {
		fmt.Fprintf(&b, "| %s |", wl.name)
		for _, m := range rep.shown() {
			r := rep.ratio(wl.name, m)
			mark := ""
			if !m.meets(r) {
				mark = " ✗"
			}
			fmt.Fprintf(&b, " "+m.format+" | "+m.format+" | %.2f%s |",
				rep.median(wl.name, rep.A, m), rep.median(wl.name, rep.B, m), r, mark)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (rep *report) writeMarkdown(f *os.File) error {
	o := rep.Options
	var b strings.Builder
	fmt.Fprintf(&b, "# %s compared with %s\n\n", rep.B, rep.A)
	fmt.Fprintf(&b, "Measured %s by `make bench-compare` (bench/compare) in %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), rep.Took.Round(time.Second))
	keys := make([]string, 0, len(rep.Machine))
	for k := range rep.Machine {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- %s: %s\n", k, rep.Machine[k])
	}
	fmt.Fprintf(&b, `
Each server runs pinned to CPU %s (taskset) with -m %d -t %d on 127.0.0.1; the
load generator (package bench, one OS thread) runs pinned to another CPU. Every
run starts a fresh server, fills the whole key space (not measured), then sends
%s of load with every value read back verified. The workloads alternate
between the servers (%s, %s, %s, %s, ...) for %d rounds; below are the medians,
and ratio = %s / %s. Server CPU per operation is user+system time from
/proc/<pid>/stat over the measured load divided by the requests answered, so a
saturated load generator cannot hide a slow server; resident memory is VmRSS
at the end of the run. %s matches %s where throughput ratio >= 1 and the other
ratios <= 1; ✗ marks where it does not.

`, o.cpu, o.memoryMB, o.threads, o.duration, rep.A, rep.B, rep.A, rep.B, o.rounds,
		rep.B, rep.A, rep.B, rep.A)
	b.WriteString(rep.table())
	if busy := rep.maxOtherCPU(); busy > otherLoadWarn {
		fmt.Fprintf(&b, "\n**Other work was running on the machine** (up to %.2f CPU besides the server and the\n"+
			"load generator, see \"other CPU\" below): these figures are skewed by it.\n", busy)
	}
	if o.syscalls {
		b.WriteString(rep.syscallTable())
	}
	b.WriteString("\n![ratios](latest.svg)\n\n## Workloads\n\n")
	for _, wl := range rep.Workloads {
		fmt.Fprintf(&b, "- **%s**: %s.\n", wl.name, wl.what)
	}
	b.WriteString("\n## Every run\n\n\"other CPU\" is how many CPUs, on average, were busy with anything but the server\n" +
		"and the load generator during the measured load (an upper bound: it includes the kernel's loopback work).\n\n" +
		"| round | workload | server | ops/s | p50 µs | p99 µs | CPU µs/op | RSS MiB | hits | fill | wrong values | errors | other CPU |\n" +
		"|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Runs {
		fmt.Fprintf(&b, "| %d | %s | %s | %.0f | %.0f | %.0f | %.2f | %.0f | %.1f%% | %.1fs | %d | %d | %.2f |\n",
			r.Round, r.Workload, r.Server, r.Throughput, r.P50us, r.P99us, r.CPUusPerOp, r.RSSMiB,
			r.HitPct, r.FillSeconds, r.VerifyErrors, r.Errors, r.OtherCPU)
	}
	_, err := io.WriteString(f, b.String())
	return err
}

// syscallTable breaks the system calls per op down by call (medians over
// the rounds), for --syscalls.
func (rep *report) syscallTable() string {
	var b strings.Builder
	b.WriteString("\n## System calls per op (perf stat tracepoints, medians)\n\n| workload | server | all |")
	names := syscallNames()
	for _, n := range names {
		fmt.Fprintf(&b, " %s |", n)
	}
	b.WriteString("\n|---|---|---:|" + strings.Repeat("---:|", len(names)) + "\n")
	for _, wl := range rep.Workloads {
		for _, srv := range []string{rep.A, rep.B} {
			fmt.Fprintf(&b, "| %s | %s | %.2f |", wl.name, srv, rep.median(wl.name, srv, syscallsMetric))
			for _, n := range names {
				m := metric{get: func(r runResult) float64 { return r.Syscalls[n] }}
				fmt.Fprintf(&b, " %.2f |", rep.median(wl.name, srv, m))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// otherLoadWarn is the other load, in CPUs, above which the report warns.
const otherLoadWarn = 0.25

func (rep *report) maxOtherCPU() float64 {
	m := 0.0
	for _, r := range rep.Runs {
		m = max(m, r.OtherCPU)
	}
	return m
}

func (rep *report) writeJSON(f *os.File) error {
	e := json.NewEncoder(f)
	e.SetIndent("", "  ")
	return e.Encode(struct {
		A       string            `json:"a"`
		B       string            `json:"b"`
		Machine map[string]string `json:"machine"`
		Runs    []runResult       `json:"runs"`
	}{rep.A, rep.B, rep.Machine, rep.Runs})
}

// writeSVG draws the ratios as grouped bars, one group per workload, with
// the line of parity at 1.
func (rep *report) writeSVG(f *os.File) error {
	const (
		w, h          = 900, 420
		left, right   = 60, 20
		top, bottom   = 60, 70
		plotW, plotH  = w - left - right, h - top - bottom
		barGap, group = 4, 0.8
	)
	colors := []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"}
	// The axis stops at 2: a bar past it is cut at the top and labelled, so
	// one large ratio does not flatten all the others.
	const ymax = 2.0
	y := func(v float64) float64 { return top + plotH*(1-math.Min(v, ymax)/ymax) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15" font-weight="bold">%s / %s: ratios of the medians of %d rounds</text>`+"\n",
		left, esc(rep.B), esc(rep.A), rep.Options.rounds)
	fmt.Fprintf(&b, `<text x="%d" y="38" fill="#555">throughput: higher is better; p99, CPU per op, memory: lower is better; dashed: parity</text>`+"\n", left)
	for v := 0.0; v <= ymax+1e-9; v += 0.5 {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, w-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.1f</text>`+"\n", left-6, y(v)+4, v)
	}
	gw := float64(plotW) / float64(len(rep.Workloads))
	bw := gw * group / float64(len(rep.shown()))
	for i, wl := range rep.Workloads {
		x0 := float64(left) + gw*float64(i) + gw*(1-group)/2
		for j, m := range rep.shown() {
			r := rep.ratio(wl.name, m)
			if math.IsNaN(r) || math.IsInf(r, 0) {
				continue
			}
			x := x0 + bw*float64(j)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.2f</title></rect>`+"\n",
				x, y(r), bw-barGap, float64(top+plotH)-y(r), colors[j], esc(wl.name), esc(m.name), r)
			label := fmt.Sprintf("%.2f", r)
			if r > ymax {
				label += " ↑"
				fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="white" stroke-width="3"/>`+"\n",
					x, x+bw-barGap, y(ymax)+12, y(ymax)+6)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>`+"\n",
				x+(bw-barGap)/2, y(r)-3, label)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x0+gw*group/2, top+plotH+18, esc(wl.name))
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="black" stroke-dasharray="6 4"/>`+"\n", left, w-right, y(1), y(1))
	for j, m := range rep.shown() {
		x := left + j*200
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			x, h-28, colors[j], x+18, h-18, esc(m.name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(f, b.String())
	return err
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
