package metrics_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/shoal-cache/shoal/internal/testproc"
	"github.com/shoal-cache/shoal/metrics"
	"github.com/shoal-cache/shoal/node"
)

func TestMain(m *testing.M) { testproc.Main(m) }

// httpClient bounds every request a test makes.
var httpClient = &http.Client{Timeout: 5 * time.Second}

// startServer runs an in-process node (or, with NoStorage, endpoint) on
// a free loopback port until the test ends.
func startServer(t testing.TB, mutate func(*node.Config)) (*node.Server, string) {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.Listen, cfg.Port = []string{"127.0.0.1"}, 0
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := node.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
	})
	return srv, srv.Addr().String()
}

// send writes text commands and reads until the reply ends with last.
func send(t *testing.T, addr, cmds, last string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, cmds); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.HasSuffix(got, []byte(last)) {
		n, err := nc.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
	}
	return string(got)
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// value is the value of the series of family name whose labels include
// labels (name=value pairs); ok false when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && have[labels[i]] == labels[i+1]
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// exporterMetric is one line of testdata/memcached_exporter.tsv.
type exporterMetric struct{ help, labels string }

func exporterMetrics(t *testing.T) map[string]exporterMetric {
	t.Helper()
	b, err := os.ReadFile("testdata/memcached_exporter.tsv")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]exporterMetric{}
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		out[f[0]] = exporterMetric{help: f[1], labels: f[2]}
	}
	return out
}

// traffic is a little of every command memcached_exporter counts.
const traffic = "set a 0 0 1\r\n1\r\nset b 0 0 3\r\nxyz\r\nget a\r\nget nope\r\ngets b\r\n" +
	"delete b\r\ndelete b\r\nincr a 2\r\ndecr nope 1\r\ntouch a 100\r\ntouch nope 1\r\n" +
	"cas a 0 0 1 1\r\n9\r\ncas nope 0 0 1 1\r\n9\r\nflush_all 1000\r\nversion\r\n"

func TestNamesAreMemcachedExporters(t *testing.T) {
	srv, addr := startServer(t, nil)
	send(t, addr, traffic, "VERSION 1.6.21\r\n")
	mfs := gather(t, metrics.NewRegistry(metrics.Sources{Server: srv}))
	want := exporterMetrics(t)
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "memcached_") {
			continue
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: not one of memcached_exporter's metrics", name)
			continue
		}
		if mf.GetHelp() != w.help {
			t.Errorf("%s: help %q, memcached_exporter's %q", name, mf.GetHelp(), w.help)
		}
		var labels []string
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		wantLabels := strings.Split(w.labels, ",")
		if w.labels == "" {
			wantLabels = nil
		}
		slices.Sort(wantLabels)
		if !slices.Equal(labels, wantLabels) {
			t.Errorf("%s: labels %v, memcached_exporter's %v", name, labels, wantLabels)
		}
	}
	// What a memcached dashboard plots, all there.
	for _, name := range []string{"memcached_up", "memcached_version", "memcached_uptime_seconds", "memcached_time_seconds",
		"memcached_commands_total", "memcached_current_items", "memcached_items_total", "memcached_items_evicted_total",
		"memcached_items_reclaimed_total", "memcached_current_connections", "memcached_connections_total",
		"memcached_max_connections", "memcached_limit_bytes", "memcached_current_bytes", "memcached_read_bytes_total",
		"memcached_written_bytes_total", "memcached_process_user_cpu_seconds_total", "memcached_malloced_bytes",
		"memcached_slab_current_items", "memcached_slab_chunk_size_bytes", "memcached_slab_current_pages",
		"memcached_slab_chunks_used", "memcached_slab_items_evicted_total", "memcached_lru_crawler_enabled",
		"memcached_lru_crawler_items_checked_total", "memcached_item_too_large_total"} {
		if mfs[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
}

func TestValuesAreTheNodesStats(t *testing.T) {
	srv, addr := startServer(t, func(c *node.Config) { c.HotKeySample = 1 })
	send(t, addr, traffic, "VERSION 1.6.21\r\n")
	const misses = 37
	send(t, addr, strings.Repeat("get missing:key\r\n", misses)+"version\r\n", "VERSION 1.6.21\r\n")
	mfs := gather(t, metrics.NewRegistry(metrics.Sources{Server: srv}))
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"memcached_up", nil, 1},
		{"memcached_version", []string{"version", "1.6.21"}, 1},
		{"memcached_commands_total", []string{"command", "get", "status", "miss"}, 1 + misses},
		{"memcached_commands_total", []string{"command", "get", "status", "hit"}, 2},
		{"memcached_commands_total", []string{"command", "delete", "status", "hit"}, 1},
		{"memcached_commands_total", []string{"command", "delete", "status", "miss"}, 1},
		{"memcached_commands_total", []string{"command", "incr", "status", "hit"}, 1},
		{"memcached_commands_total", []string{"command", "decr", "status", "miss"}, 1},
		{"memcached_commands_total", []string{"command", "touch", "status", "hit"}, 1},
		{"memcached_commands_total", []string{"command", "touch", "status", "miss"}, 1},
		{"memcached_commands_total", []string{"command", "cas", "status", "badval"}, 1},
		{"memcached_commands_total", []string{"command", "cas", "status", "miss"}, 1},
		{"memcached_commands_total", []string{"command", "flush", "status", "hit"}, 1},
		{"memcached_commands_total", []string{"command", "set", "status", "hit"}, 2}, // cmd_set 4 less 2 cas
		{"memcached_current_items", nil, 1},
		{"memcached_max_connections", nil, 1024},
		{"memcached_limit_bytes", nil, 64 << 20},
		{"memcached_slab_current_items", []string{"slab", "1"}, 1},
		{"shoal_get_hit_ratio", nil, 2.0 / (2 + 1 + misses)},
		{"shoal_command_duration_seconds", []string{"family", "get"}, 3 + misses},
		{"shoal_command_duration_seconds", []string{"family", "set"}, 4},
		{"shoal_command_duration_seconds", []string{"family", "config"}, 0},
		{"shoal_hotkey_reads", []string{"key", "missing%3Akey"}, misses},
		{"shoal_hotkey_writes", []string{"key", "a"}, 4}, // set, incr, touch, cas
	} {
		got, ok := value(mfs, tt.name, tt.labels...)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
}

func TestCurrentConnections(t *testing.T) {
	srv, addr := startServer(t, nil)
	reg := metrics.NewRegistry(metrics.Sources{Server: srv})
	var open []net.Conn
	for range 3 {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		open = append(open, nc)
	}
	open[2].Close()
	// The server counts connections in as it accepts them and out as it
	// sees them closed: wait (bounded) for all three and the one closed.
	var curr, total float64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mfs := gather(t, reg)
		curr, _ = value(mfs, "memcached_current_connections")
		total, _ = value(mfs, "memcached_connections_total")
		if curr == 2 && total == 3 {
			return
		}
	}
	t.Errorf("memcached_current_connections %v, memcached_connections_total %v; want 2 and 3", curr, total)
}

func TestEndpointExportsWhatApplies(t *testing.T) {
	srv, addr := startServer(t, func(c *node.Config) { c.NoStorage = true })
	send(t, addr, "config get cluster\r\nversion\r\n", "VERSION 1.6.21\r\n")
	mfs := gather(t, metrics.NewRegistry(metrics.Sources{Server: srv}))
	for _, name := range []string{"memcached_up", "memcached_current_connections", "memcached_connections_total",
		"memcached_read_bytes_total", "shoal_config_get_total", "shoal_command_duration_seconds"} {
		if mfs[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
	for _, name := range []string{"memcached_current_items", "memcached_limit_bytes", "memcached_commands_total",
		"memcached_slab_current_items", "shoal_get_hit_ratio", "shoal_hotkey_reads"} {
		if mfs[name] != nil {
			t.Errorf("%s on an endpoint, which stores nothing", name)
		}
	}
	if v, _ := value(mfs, "shoal_config_get_total"); v != 1 {
		t.Errorf("shoal_config_get_total %v, want 1", v)
	}
	if v, _ := value(mfs, "shoal_command_duration_seconds", "family", "config"); v != 1 {
		t.Errorf("config latency count %v, want 1", v)
	}
}

// promtoolCheck runs promtool check metrics on a /metrics page.
func promtoolCheck(t *testing.T, who string, page []byte) {
	t.Helper()
	cmd := exec.Command(testproc.Tool(t, "promtool", "prometheus"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("promtool check metrics on %s: %v\n%s", who, err, out)
	}
}

func fetchPage(t *testing.T, url string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %v", url, resp.Status, err)
	}
	return b
}

func TestPromtoolAcceptsHostileKeys(t *testing.T) {
	srv, addr := startServer(t, func(c *node.Config) { c.HotKeySample = 1 })
	// The binary protocol takes any bytes in a key: quotes, newlines,
	// backslashes, invalid UTF-8.
	key := "k\"\\\n\xff\xfe{}= ,"
	req := binaryGet(key)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(req); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(bufio.NewReader(nc), make([]byte, 24+len("Not found"))); err != nil {
		t.Fatal(err)
	}
	send(t, addr, traffic, "VERSION 1.6.21\r\n")
	reg := metrics.NewRegistry(metrics.Sources{Server: srv})
	hs := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer hs.Close()
	page := fetchPage(t, hs.URL)
	if want := `shoal_hotkey_reads{key="k%22%5C%0A%FF%FE%7B%7D%3D%20%2C"} 1`; !bytes.Contains(page, []byte(want)) {
		t.Errorf("page has no %s", want)
	}
	promtoolCheck(t, "a node", page)
	endpoint, _ := startServer(t, func(c *node.Config) { c.NoStorage = true })
	hs2 := httptest.NewServer(promhttp.HandlerFor(metrics.NewRegistry(metrics.Sources{Server: endpoint}), promhttp.HandlerOpts{}))
	defer hs2.Close()
	promtoolCheck(t, "an endpoint", fetchPage(t, hs2.URL))
}

// binaryGet is a binary protocol get of key.
func binaryGet(key string) []byte {
	h := make([]byte, 24, 24+len(key))
	h[0], h[1] = 0x80, 0x00
	h[2], h[3] = byte(len(key)>>8), byte(len(key))
	h[11] = byte(len(key))
	return append(h, key...)
}

// TestConnectionEngine: connections idle past a sweep are parked in the
// node's epoll set, and the metrics say so.
func TestConnectionEngine(t *testing.T) {
	srv, addr := startServer(t, nil)
	reg := metrics.NewRegistry(metrics.Sources{Server: srv})
	const n = 5
	for range n {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := nc.Write([]byte("version\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Read(make([]byte, 64)); err != nil {
			t.Fatal(err)
		}
	}
	var waiting, parked, parks float64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mfs := gather(t, reg)
		waiting, _ = value(mfs, "shoal_connections_waiting")
		parked, _ = value(mfs, "shoal_connections_parked")
		parks, _ = value(mfs, "shoal_connection_parks_total")
		if waiting == 0 && parked == n && parks == n {
			return
		}
	}
	t.Errorf("waiting %v, parked %v, parks %v; want 0, %d, %d", waiting, parked, parks, n, n)
}
