package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-cache/shoal/bench"
)

// The memory sweep: the same items stored into each server in turn, both
// with a limit high enough that nothing is evicted, and each one's resident
// memory read once they are in. It answers what a cache costs for the items
// it holds, over key sizes, value sizes (fixed and mixed) and item counts.

// memCase is one point of the sweep.
type memCase struct {
	Key      int    `json:"key_bytes"`
	ValueMin int    `json:"value_min"`
	ValueMax int    `json:"value_max"`
	Items    uint64 `json:"items"`
}

func (c memCase) String() string {
	v := strconv.Itoa(c.ValueMin)
	if c.ValueMax != c.ValueMin {
		v += "-" + strconv.Itoa(c.ValueMax)
	}
	return fmt.Sprintf("key %d B, value %s B, %dk items", c.Key, v, c.Items/1000)
}

// data is the key and value bytes the case stores, on average.
func (c memCase) data() float64 {
	return float64(c.Items) * (float64(c.Key) + float64(c.ValueMin+c.ValueMax)/2)
}

// memCases is the sweep: keys of 10 and 40 bytes; values of 32 B to 4 KB,
// fixed and mixed; 100k and 1M items, leaving out the cases above 2.5 GB of
// data so that the sweep fits a shared machine.
func memCases() []memCase {
	var cs []memCase
	values := [][2]int{{32, 32}, {100, 100}, {500, 500}, {1024, 1024}, {4096, 4096}, {32, 512}, {32, 4096}}
	for _, items := range []uint64{100_000, 1_000_000} {
		for _, key := range []int{10, 40} {
			for _, v := range values {
				c := memCase{Key: key, ValueMin: v[0], ValueMax: v[1], Items: items}
				if c.data() <= 2.5e9 {
					cs = append(cs, c)
				}
			}
		}
	}
	return cs
}

// memResult is one case on one server.
type memResult struct {
	Case   memCase `json:"case"`
	Server string  `json:"server"`
	RSSMiB float64 `json:"rss_mib"`
	// AnonMiB is the anonymous part of RSSMiB (RssAnon): the rest is the
	// binary's and libraries' pages, mapped from the page cache.
	AnonMiB float64 `json:"anon_mib"`
	Items   int64   `json:"curr_items"`
}

// memoryMB is the limit both servers get in the sweep: above the largest
// case, so that nothing is evicted.
const sweepMemoryMB = 4096

// measureMemory starts s, stores c's items and reads its resident memory.
// It fails if the server does not hold every item.
func measureMemory(ctx context.Context, s serverSpec, c memCase) (memResult, error) {
	s.memoryMB = sweepMemoryMB
	srv, err := s.start()
	if err != nil {
		return memResult{}, err
	}
	defer srv.stop()
	cfg := bench.DefaultConfig()
	cfg.Servers = []string{srv.addr}
	cfg.Connections, cfg.Pipeline = 4, 64
	cfg.Keys, cfg.ValueMin, cfg.ValueMax = c.Items, c.ValueMin, c.ValueMax
	digits := len(strconv.FormatUint(c.Items-1, 10))
	cfg.KeyPrefix = strings.Repeat("k", max(1, c.Key-digits))
	cfg.Timeout = time.Minute
	if _, errs, err := bench.Fill(ctx, cfg); err != nil || errs > 0 {
		return memResult{}, fmt.Errorf("%s: filling %v: %d errors, %v", s.name, c, errs, err)
	}
	st, err := serverStats(srv.addr)
	if err != nil {
		return memResult{}, err
	}
	items, _ := strconv.ParseInt(st["curr_items"], 10, 64)
	if items != int64(c.Items) || st["evictions"] != "0" {
		return memResult{}, fmt.Errorf("%s: %v: holds %d items after %s evictions", s.name, c, items, st["evictions"])
	}
	rss, err := srv.rssKiB()
	if err != nil {
		return memResult{}, err
	}
	anon, err := srv.statusKiB("RssAnon")
	if err != nil {
		return memResult{}, err
	}
	return memResult{Case: c, Server: s.name, RSSMiB: float64(rss) / 1024, AnonMiB: float64(anon) / 1024, Items: items}, nil
}

// serverStats reads a server's general stats.
func serverStats(addr string) (map[string]string, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, "stats\r\n"); err != nil {
		return nil, err
	}
	st := map[string]string{}
	sc := bufio.NewScanner(nc)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 1 && f[0] == "END" {
			return st, nil
		}
		if len(f) == 3 && f[0] == "STAT" {
			st[f[1]] = f[2]
		}
	}
	return nil, fmt.Errorf("stats from %s: %v", addr, sc.Err())
}

// memReport is a finished sweep.
type memReport struct {
	A, B    string
	Results []memResult
	Machine map[string]string
}

// runMemorySweep measures every case on a, then b, and writes
// memory.{md,json} to out.
func runMemorySweep(ctx context.Context, a, b serverSpec, out string) error {
	rep := memReport{A: a.name, B: b.name, Machine: machine(a, b)}
	for _, c := range memCases() {
		for _, s := range []serverSpec{a, b} {
			r, err := measureMemory(ctx, s, c)
			if err != nil {
				return err
			}
			rep.Results = append(rep.Results, r)
		}
		ra, rb := rep.Results[len(rep.Results)-2], rep.Results[len(rep.Results)-1]
		fmt.Printf("%-40s %s %7.1f MiB  %s %7.1f MiB  ratio %.3f\n", c, a.name, ra.RSSMiB, b.name, rb.RSSMiB, rb.RSSMiB/ra.RSSMiB)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	md := rep.markdown()
	fmt.Print("\n" + md)
	if err := os.WriteFile(filepath.Join(out, "memory.md"), []byte(md), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "memory.json"), append(js, '\n'), 0o644)
}

// ratios are B's resident memory (as of reads it) over A's, case by case.
func (rep *memReport) ratios(of func(memResult) float64) []float64 {
	var rs []float64
	for i := 0; i+1 < len(rep.Results); i += 2 {
		rs = append(rs, of(rep.Results[i+1])/of(rep.Results[i]))
	}
	return rs
}

func rss(r memResult) float64  { return r.RSSMiB }
func anon(r memResult) float64 { return r.AnonMiB }

func geomean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += math.Log(x)
	}
	return math.Exp(s / float64(len(xs)))
}

func (rep *memReport) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Resident memory for the same items: %s / %s\n\n", rep.B, rep.A)
	fmt.Fprintf(&b, "Both servers -m %d (nothing evicted), the items stored with 4 connections pipelining 64 sets; VmRSS once every item is in, "+
		"and its anonymous part (RssAnon: VmRSS less the pages of the binary and libraries mapped from the page cache).\n\n", sweepMemoryMB)
	fmt.Fprintf(&b, "| case | %s MiB | %s MiB | ratio | %s anon MiB | %s anon MiB | anon ratio |\n|---|---:|---:|---:|---:|---:|---:|\n", rep.A, rep.B, rep.A, rep.B)
	rs, as := rep.ratios(rss), rep.ratios(anon)
	for i, r := range rs {
		a, bb := rep.Results[2*i], rep.Results[2*i+1]
		fmt.Fprintf(&b, "| %v | %.1f | %.1f | %.3f | %.1f | %.1f | %.3f |\n", a.Case, a.RSSMiB, bb.RSSMiB, r, a.AnonMiB, bb.AnonMiB, as[i])
	}
	fmt.Fprintf(&b, "\nVmRSS: geometric mean %.3f, worst %.3f, over %d cases\n", geomean(rs), slices.Max(rs), len(rs))
	fmt.Fprintf(&b, "\nRssAnon: geometric mean %.3f, worst %.3f\n", geomean(as), slices.Max(as))
	return b.String()
}
