package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is what a run measured. Counts cover the measured load only, not
// the warm-up. A multi-get is one request (Gets) asking for several keys
// (Keys), each a hit or a miss. Requests are answered (Ops, as Sets and
// Gets) or Failed: a request is failed when a server it went to gave no
// reply, its connection having failed or being down; the keys of a reply
// read in full still count. Sent requests are Ops + Failed.
type Result struct {
	Config       Config
	Warmup       time.Duration // time spent filling the key space
	WarmupSets   int64
	WarmupErrors int64
	Elapsed      time.Duration // time spent under measured load
	Interrupted  bool          // the run's context ended it early

	Ops, Sets, Gets    int64 // answered requests
	Keys, Hits, Misses int64 // keys of get replies read in full
	NotStored          int64 // sets answered NOT_STORED or the like
	Errors             int64 // error replies (SERVER_ERROR and kin)
	Failed             int64 // requests that got no reply
	VerifyErrors       int64 // wrong values: a checksum, a key, a frame
	Mismatches         []string
	Nodes              []NodeResult // one per server, in Config.Servers order

	Latency, SetLatency, GetLatency Latency
}

// Throughput is requests per second under measured load.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// collect sums the workers' counts; start is when the load started.
func (r *Result) collect(workers []*worker, start time.Time) {
	var c counts
	fails := make([]failures, len(r.Config.Servers))
	all, set, get := newHist(), newHist(), newHist()
	for _, w := range workers {
		c.add(&w.c)
		for i, conn := range w.conns {
			fails[i].add(&conn.fails)
		}
		set.Merge(w.setH)
		get.Merge(w.getH)
		for _, s := range w.samples {
			if len(r.Mismatches) < maxSamples {
				r.Mismatches = append(r.Mismatches, s)
			}
		}
	}
	all.Merge(set)
	all.Merge(get)
	r.Ops, r.Sets, r.Gets = c.ops, c.sets, c.gets
	r.Keys, r.Hits, r.Misses = c.keys, c.hits, c.misses
	r.NotStored, r.Errors, r.Failed, r.VerifyErrors = c.notStored, c.errors, c.failed, c.verifyErrors
	r.Nodes = make([]NodeResult, len(fails))
	for i := range fails {
		r.Nodes[i] = nodeResult(r.Config.Servers[i], &fails[i], start)
	}
	r.Latency, r.SetLatency, r.GetLatency = summarize(all), summarize(set), summarize(get)
}

// WriteText writes a plain-text summary for people.
func (r *Result) WriteText(w io.Writer) error {
	c := &r.Config
	var b strings.Builder
	fmt.Fprintf(&b, "servers    %s (%s protocol)\n", strings.Join(c.Servers, ","), c.Protocol)
	fmt.Fprintf(&b, "workload   %d connections x pipeline %d, set:get %d:%d, multi-get %d\n",
		c.Connections, c.Pipeline, c.SetRatio, c.GetRatio, c.MultiGet)
	dist := string(c.Dist)
	if c.Dist == Zipfian {
		dist = fmt.Sprintf("zipfian %.2f", c.ZipfSkew)
	}
	size := fmt.Sprint(c.ValueMin)
	if c.ValueMax != c.ValueMin {
		size = fmt.Sprintf("%d-%d", c.ValueMin, c.ValueMax)
	}
	fmt.Fprintf(&b, "keys       %d %s, values %s bytes, verify %v\n", c.Keys, dist, size, onOff(c.Verify))
	if c.Warmup {
		fmt.Fprintf(&b, "warm-up    %d sets in %.2fs, %d errors\n", r.WarmupSets, r.Warmup.Seconds(), r.WarmupErrors)
	}
	fmt.Fprintf(&b, "requests   %d in %.2fs: %.0f/s", r.Ops, r.Elapsed.Seconds(), r.Throughput())
	if r.Interrupted {
		b.WriteString(" (interrupted)")
	}
	fmt.Fprintf(&b, "\nsets       %d, not stored %d\n", r.Sets, r.NotStored)
	fmt.Fprintf(&b, "gets       %d for %d keys: %d hits (%.2f%%), %d misses\n",
		r.Gets, r.Keys, r.Hits, percent(r.Hits, r.Keys), r.Misses)
	fmt.Fprintf(&b, "errors     %d error replies, %d wrong values\n", r.Errors, r.VerifyErrors)
	for _, m := range r.Mismatches {
		fmt.Fprintf(&b, "  wrong:   %s\n", m)
	}
	r.writeFailures(&b)
	fmt.Fprintf(&b, "latency    %9s %9s %9s %9s %9s %9s %10s\n", "p50", "p90", "p99", "p99.9", "max", "mean", "count")
	for _, l := range []struct {
		name string
		l    Latency
	}{{"all", r.Latency}, {"get", r.GetLatency}, {"set", r.SetLatency}} {
		if l.l.Count == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %-8s %9s %9s %9s %9s %9s %9s %10d\n", l.name,
			us(l.l.P50), us(l.l.P90), us(l.l.P99), us(l.l.P999), us(l.l.Max), us(l.l.Mean), l.l.Count)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeFailures tells, when anything failed, how many requests got no
// reply, and per server what failed and when.
func (r *Result) writeFailures(b *strings.Builder) {
	lines := 0
	for _, n := range r.Nodes {
		if n.Failed == 0 && n.ConnErrors == 0 {
			continue
		}
		if lines == 0 {
			fmt.Fprintf(b, "failed     %d requests got no reply\n", r.Failed)
		}
		lines++
		fmt.Fprintf(b, "  %s: %d failed, %d connection errors, from %.2fs to %.2fs; last: %s\n",
			n.Server, n.Failed, n.ConnErrors, n.FirstError.Seconds(), n.LastError.Seconds(), n.Err)
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func percent(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func us(d time.Duration) string { return fmt.Sprintf("%.1fus", float64(d)/1e3) }

// jsonLatency is a Latency in microseconds.
type jsonLatency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_us"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p99_9_us"`
	Max   float64 `json:"max_us"`
}

func (l Latency) jsonForm() jsonLatency {
	f := func(d time.Duration) float64 { return float64(d) / 1e3 }
	return jsonLatency{l.Count, f(l.Mean), f(l.P50), f(l.P90), f(l.P99), f(l.P999), f(l.Max)}
}

// jsonNode is a NodeResult with times in seconds.
type jsonNode struct {
	Server     string  `json:"server"`
	Failed     int64   `json:"failed"`
	ConnErrors int64   `json:"connection_errors"`
	FirstError float64 `json:"first_error_s"`
	LastError  float64 `json:"last_error_s"`
	Err        string  `json:"last_error,omitempty"`
}

func jsonNodes(nodes []NodeResult) []jsonNode {
	out := make([]jsonNode, len(nodes))
	for i, n := range nodes {
		out[i] = jsonNode{n.Server, n.Failed, n.ConnErrors, n.FirstError.Seconds(), n.LastError.Seconds(), n.Err}
	}
	return out
}

// MarshalJSON writes the result for machines: durations in seconds,
// latencies in microseconds.
func (r *Result) MarshalJSON() ([]byte, error) {
	c := &r.Config
	type workload struct {
		Servers     []string `json:"servers"`
		Protocol    Protocol `json:"protocol"`
		Connections int      `json:"connections"`
		Pipeline    int      `json:"pipeline"`
		SetRatio    int      `json:"set_ratio"`
		GetRatio    int      `json:"get_ratio"`
		MultiGet    int      `json:"multi_get"`
		Keys        uint64   `json:"keys"`
		Dist        string   `json:"key_distribution"`
		ZipfSkew    float64  `json:"zipf_skew,omitempty"`
		ValueMin    int      `json:"value_min"`
		ValueMax    int      `json:"value_max"`
		Duration    float64  `json:"duration_s"`
		Requests    int64    `json:"requests"`
		Warmup      bool     `json:"warmup"`
		Verify      bool     `json:"verify"`
	}
	wl := workload{c.Servers, c.Protocol, c.Connections, c.Pipeline, c.SetRatio, c.GetRatio,
		c.MultiGet, c.Keys, string(c.Dist), 0, c.ValueMin, c.ValueMax, c.Duration.Seconds(),
		c.Requests, c.Warmup, c.Verify}
	if c.Dist == Zipfian {
		wl.ZipfSkew = c.ZipfSkew
	}
	return json.Marshal(struct {
		Workload     workload    `json:"workload"`
		Warmup       float64     `json:"warmup_s"`
		WarmupSets   int64       `json:"warmup_sets"`
		WarmupErrors int64       `json:"warmup_errors"`
		Elapsed      float64     `json:"elapsed_s"`
		Interrupted  bool        `json:"interrupted"`
		Throughput   float64     `json:"throughput"`
		Ops          int64       `json:"requests"`
		Sets         int64       `json:"sets"`
		Gets         int64       `json:"gets"`
		Keys         int64       `json:"keys"`
		Hits         int64       `json:"hits"`
		Misses       int64       `json:"misses"`
		NotStored    int64       `json:"not_stored"`
		Errors       int64       `json:"errors"`
		Failed       int64       `json:"failed"`
		VerifyErrors int64       `json:"verify_errors"`
		Mismatches   []string    `json:"mismatches,omitempty"`
		Latency      jsonLatency `json:"latency"`
		SetLatency   jsonLatency `json:"set_latency"`
		GetLatency   jsonLatency `json:"get_latency"`
		Nodes        []jsonNode  `json:"nodes"`
	}{wl, r.Warmup.Seconds(), r.WarmupSets, r.WarmupErrors, r.Elapsed.Seconds(), r.Interrupted,
		r.Throughput(), r.Ops, r.Sets, r.Gets, r.Keys, r.Hits, r.Misses, r.NotStored, r.Errors,
		r.Failed, r.VerifyErrors, r.Mismatches, r.Latency.jsonForm(), r.SetLatency.jsonForm(),
		r.GetLatency.jsonForm(), jsonNodes(r.Nodes)})
}
