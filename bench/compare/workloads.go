package main

import (
	"strings"
	"time"

	"github.com/shoal-cache/shoal/bench"
)

// workload is one of the comparison's loads, as the issue lists them.
type workload struct {
	name, what string
	cfg        bench.Config
}

func workloads(d time.Duration) []workload {
	base := func(mod func(*bench.Config)) bench.Config {
		c := bench.DefaultConfig()
		c.Connections = 50
		c.Keys = 100000
		c.Duration = d
		c.Verify = true
		c.Warmup = false // filled with bench.Fill, before the CPU clock is read
		// A batch is given up on after this long; generous, as other work on
		// the machine can stall a pinned server for seconds.
		c.Timeout = 30 * time.Second
		mod(&c)
		return c
	}
	return []workload{
		{"get90", "90% get / 10% set, 100-byte values, 50 connections, 100k keys uniform",
			base(func(*bench.Config) {})},
		{"multiget10", "as get90, each get asking for 10 keys",
			base(func(c *bench.Config) { c.MultiGet = 10 })},
		{"pipeline32", "gets only, pipelined 32 deep on 10 connections, 100-byte values",
			base(func(c *bench.Config) { c.Connections, c.Pipeline, c.SetRatio, c.GetRatio = 10, 32, 0, 1 })},
		{"4k-50set", "50% set / 50% get, 4 KB values, 50 connections, 50k keys uniform",
			base(func(c *bench.Config) {
				c.Keys, c.ValueMin, c.ValueMax, c.SetRatio, c.GetRatio = 50000, 4096, 4096, 1, 1
			})},
		{"zipf-evict", "90% get / 10% set, 4 KB values, zipfian 0.99 over 400k keys (1.6 GB, more than the 1 GB limit: evictions)",
			base(func(c *bench.Config) {
				c.Keys, c.ValueMin, c.ValueMax, c.Dist, c.ZipfSkew = 400000, 4096, 4096, bench.Zipfian, 0.99
			})},
	}
}

func filterWorkloads(wls []workload, names string) []workload {
	var out []workload
	for _, w := range wls {
		for _, n := range strings.Split(names, ",") {
			if w.name == n {
				out = append(out, w)
			}
		}
	}
	return out
}
