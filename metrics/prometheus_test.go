package metrics_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// TestPrometheusScrapesACluster: a real Prometheus scrapes a 3-node
// cluster and its endpoint every second, and its query API returns what
// the test did to the nodes.
func TestPrometheusScrapesACluster(t *testing.T) {
	bin := testproc.Tool(t, "prometheus", "prometheus")
	cl := testproc.StartMetricsCluster(t, 3)
	members := append([]*testproc.Member{cl.Endpoint}, cl.Nodes...)
	var targets []string
	for _, m := range members {
		targets = append(targets, strconv.Quote(m.Metrics))
		promtoolCheck(t, m.Metrics, fetchPage(t, "http://"+m.Metrics+"/metrics"))
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	yml := "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: shoal\n" +
		"    static_configs:\n      - targets: [" + strings.Join(targets, ", ") + "]\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	web := testproc.FreeAddr(t)
	testproc.Start(t, "prometheus", bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web)

	const misses = 25
	node := cl.Nodes[0]
	send(t, node.Addr, strings.Repeat("get never:set\r\n", misses)+"version\r\n", "VERSION 1.6.21\r\n")
	send(t, cl.Nodes[1].Addr, "set k 0 0 1\r\n1\r\nget k\r\n", "END\r\n")

	for _, q := range []struct {
		query string
		want  float64
	}{
		{fmt.Sprintf(`memcached_commands_total{command="get",status="miss",instance=%q}`, node.Metrics), misses},
		{fmt.Sprintf(`shoal_command_duration_seconds_count{family="get",instance=%q}`, node.Metrics), misses},
		{fmt.Sprintf(`memcached_current_items{instance=%q}`, cl.Nodes[1].Metrics), 1},
		{fmt.Sprintf(`shoal_get_hit_ratio{instance=%q}`, cl.Nodes[1].Metrics), 1},
		{`count(memcached_up == 1)`, 4},
		{fmt.Sprintf(`shoal_cluster_members{state="active",instance=%q}`, cl.Endpoint.Metrics), 3},
		{`count(shoal_cluster_gossip_members == 4)`, 4},
		{`count(shoal_cluster_coordinator == 1)`, 4},
		{`count(shoal_cluster_list_version > 0)`, 4},
		{`count(memcached_current_items)`, 3}, // the endpoint stores nothing
	} {
		if got := waitQuery(t, web, q.query, q.want); got != q.want {
			t.Errorf("%s = %v, want %v", q.query, got, q.want)
		}
	}
}

// waitQuery asks Prometheus for query's value until it is want, or 30 s
// pass (a scrape a second; the first waits for Prometheus to start); it
// returns the last value (NaN when there was none).
func waitQuery(t *testing.T, web, query string, want float64) float64 {
	t.Helper()
	last := -1.0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		v, ok := instantQuery(web, query)
		if ok {
			last = v
			if v == want {
				return v
			}
		}
	}
	return last
}

func instantQuery(web, query string) (float64, bool) {
	resp, err := httpClient.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}
