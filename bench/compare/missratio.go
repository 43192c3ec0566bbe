package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shoal-cache/shoal/bench"
)

// The miss ratio under memory pressure: a zipfian load over a key space
// whose data is twice the memory limit, the same requests (same seed, one
// connection, so in the same order) to each server, starting from a fill
// of every key. What is compared is the share of gets that miss: the
// engine's choice of what to keep.

// missCase is one load of the comparison.
type missCase struct {
	Name     string `json:"name"`
	ValueMin int    `json:"value_min"`
	ValueMax int    `json:"value_max"`
	Keys     uint64 `json:"keys"`
}

// missMemoryMB is both servers' limit in the comparison.
const missMemoryMB = 64

// missRequests bounds each run.
const missRequests = 400_000

func missCases() []missCase {
	data := float64(2 * missMemoryMB << 20) // twice the limit
	var cs []missCase
	for _, v := range [][2]int{{100, 100}, {4096, 4096}, {100, 4096}} {
		avg := float64(v[0]+v[1])/2 + 10
		name := fmt.Sprintf("value %d B", v[0])
		if v[0] != v[1] {
			name = fmt.Sprintf("value %d-%d B", v[0], v[1])
		}
		cs = append(cs, missCase{Name: name, ValueMin: v[0], ValueMax: v[1], Keys: uint64(data / avg)})
	}
	return cs
}

type missResult struct {
	Case     missCase `json:"case"`
	Server   string   `json:"server"`
	Gets     int64    `json:"get_keys"`
	Hits     int64    `json:"hits"`
	MissPct  float64  `json:"miss_pct"`
	Requests int64    `json:"requests"`
}

func measureMisses(ctx context.Context, s serverSpec, c missCase) (missResult, error) {
	s.memoryMB = missMemoryMB
	srv, err := s.start()
	if err != nil {
		return missResult{}, err
	}
	defer srv.stop()
	cfg := bench.DefaultConfig()
	cfg.Servers = []string{srv.addr}
	cfg.Connections, cfg.Pipeline = 1, 16
	cfg.Keys, cfg.ValueMin, cfg.ValueMax = c.Keys, c.ValueMin, c.ValueMax
	cfg.Dist, cfg.ZipfSkew = bench.Zipfian, 0.99
	cfg.Requests, cfg.Duration = missRequests, 0
	cfg.Timeout, cfg.Seed = time.Minute, 42
	if _, _, err := bench.Fill(ctx, cfg); err != nil {
		return missResult{}, fmt.Errorf("%s: filling %s: %w", s.name, c.Name, err)
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return missResult{}, fmt.Errorf("%s: %s: %w", s.name, c.Name, err)
	}
	if res.Keys == 0 {
		return missResult{}, fmt.Errorf("%s: %s: no get answered", s.name, c.Name)
	}
	return missResult{Case: c, Server: s.name, Gets: res.Keys, Hits: res.Hits, Requests: res.Ops,
		MissPct: 100 * float64(res.Keys-res.Hits) / float64(res.Keys)}, nil
}

// runMissRatio measures every case on a, then b, and writes
// missratio.{md,json} to out.
func runMissRatio(ctx context.Context, a, b serverSpec, out string) error {
	var rs []missResult
	var md strings.Builder
	fmt.Fprintf(&md, "# Miss ratio under memory pressure: %s / %s\n\n", b.name, a.name)
	fmt.Fprintf(&md, "Both servers -m %d; zipfian 0.99 over keys holding twice that; 90%% get / 10%% set; every key set once first, then %d requests on one connection (pipeline 16), the same for both.\n\n", missMemoryMB, missRequests)
	fmt.Fprintf(&md, "| load | keys | %s miss %% | %s miss %% | ratio |\n|---|---:|---:|---:|---:|\n", a.name, b.name)
	for _, c := range missCases() {
		ra, err := measureMisses(ctx, a, c)
		if err != nil {
			return err
		}
		rb, err := measureMisses(ctx, b, c)
		if err != nil {
			return err
		}
		rs = append(rs, ra, rb)
		line := fmt.Sprintf("| %s | %d | %.2f | %.2f | %.3f |\n", c.Name, c.Keys, ra.MissPct, rb.MissPct, rb.MissPct/ra.MissPct)
		fmt.Print(line)
		md.WriteString(line)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "missratio.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "missratio.json"), append(js, '\n'), 0o644)
}
