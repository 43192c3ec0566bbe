package bench

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func sampleResult() *Result {
	cfg := DefaultConfig()
	cfg.Servers = []string{"127.0.0.1:1", "127.0.0.1:2"}
	cfg.Dist = Zipfian
	return &Result{
		Config: cfg, Elapsed: 2 * time.Second, Warmup: time.Second, WarmupSets: 100000,
		Ops: 1000, Sets: 100, Gets: 900, Keys: 900, Hits: 891, Misses: 9,
		VerifyErrors: 1, Mismatches: []string{"key key:3: value checksum mismatch"},
		Latency: Latency{Count: 1000, Mean: 52 * time.Microsecond, P50: 50 * time.Microsecond,
			P90: 80 * time.Microsecond, P99: 120500 * time.Nanosecond, P999: time.Millisecond, Max: 2 * time.Millisecond},
	}
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	if err := sampleResult().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"servers    127.0.0.1:1,127.0.0.1:2 (text protocol)\n",
		"keys       100000 zipfian 0.99, values 100 bytes, verify off\n",
		"warm-up    100000 sets in 1.00s, 0 errors\n",
		"requests   1000 in 2.00s: 500/s\n",
		"gets       900 for 900 keys: 891 hits (99.00%), 9 misses\n",
		"errors     0 error replies, 1 wrong values\n",
		"  wrong:   key key:3: value checksum mismatch\n",
		"  all         50.0us    80.0us   120.5us  1000.0us  2000.0us    52.0us       1000\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "  get ") {
		t.Errorf("empty get histogram printed:\n%s", b.String())
	}
}

// failedResult is sampleResult with the second server killed under load.
func failedResult() *Result {
	r := sampleResult()
	r.Failed = 40
	r.Nodes = []NodeResult{{Server: "127.0.0.1:1"}, {Server: "127.0.0.1:2", Failed: 40, ConnErrors: 3,
		FirstError: 1020 * time.Millisecond, LastError: 1750 * time.Millisecond,
		Err: "dial tcp 127.0.0.1:2: connect: connection refused"}}
	return r
}

func TestWriteTextFailures(t *testing.T) {
	var b strings.Builder
	if err := sampleResult().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "failed") {
		t.Errorf("failures told when there were none:\n%s", b.String())
	}
	b.Reset()
	if err := failedResult().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "errors     0 error replies, 1 wrong values\n" +
		"  wrong:   key key:3: value checksum mismatch\n" +
		"failed     40 requests got no reply\n" +
		"  127.0.0.1:2: 40 failed, 3 connection errors, from 1.02s to 1.75s; last: dial tcp 127.0.0.1:2: connect: connection refused\n" +
		"latency "
	if !strings.Contains(b.String(), want) {
		t.Errorf("summary lacks\n%s\nin\n%s", want, b.String())
	}
}

func TestJSONFailures(t *testing.T) {
	b, err := json.Marshal(failedResult())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Failed int64           `json:"failed"`
		Nodes  json.RawMessage `json:"nodes"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := `[{"server":"127.0.0.1:1","failed":0,"connection_errors":0,"first_error_s":0,"last_error_s":0},` +
		`{"server":"127.0.0.1:2","failed":40,"connection_errors":3,"first_error_s":1.02,"last_error_s":1.75,` +
		`"last_error":"dial tcp 127.0.0.1:2: connect: connection refused"}]`
	if got.Failed != 40 || string(got.Nodes) != want {
		t.Fatalf("failed %d, nodes\n%s\nwant\n%s", got.Failed, got.Nodes, want)
	}
}

func TestJSON(t *testing.T) {
	b, err := json.Marshal(sampleResult())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Workload struct {
			Servers []string `json:"servers"`
			Dist    string   `json:"key_distribution"`
			Skew    float64  `json:"zipf_skew"`
		} `json:"workload"`
		Throughput   float64 `json:"throughput"`
		Hits         int64   `json:"hits"`
		VerifyErrors int64   `json:"verify_errors"`
		Latency      struct {
			P99 float64 `json:"p99_us"`
		} `json:"latency"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Throughput != 500 || got.Hits != 891 || got.VerifyErrors != 1 || got.Latency.P99 != 120.5 ||
		len(got.Workload.Servers) != 2 || got.Workload.Dist != "zipfian" || got.Workload.Skew != 0.99 {
		t.Fatalf("JSON %s", b)
	}
}

func TestProgressLine(t *testing.T) {
	var done atomic.Int64
	p := &progress{name: "load", d: 10 * time.Second, total: 0, done: &done}
	got := p.line(2500*time.Millisecond, 1234, 500)
	want := "load    [#######.......................]  25%     2.5s  1234 requests  500/s"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	p.total = 1000 // by count it is over
	if got := p.line(time.Second, 2000, 0); !strings.Contains(got, "100%") {
		t.Fatalf("got %q", got)
	}
}
