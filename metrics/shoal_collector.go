package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoal-cache/shoal/internal/hotkeys"
	"github.com/shoal-cache/shoal/internal/latency"
	"github.com/shoal-cache/shoal/node"
)

// shoalCollector exports what memcached has no stats for: latency per
// command family, the hit ratio and the hot keys.
type shoalCollector struct {
	srv                         *node.Server
	duration, hitRatio          *prometheus.Desc
	hotReads, hotWrites, config *prometheus.Desc
	waiting, parked, parks      *prometheus.Desc
}

func newShoalCollector(srv *node.Server) *shoalCollector {
	return &shoalCollector{
		srv: srv,
		duration: newDesc("shoal_command_duration_seconds",
			"Time from a command's line parsed to its reply buffered, by command family.", "family"),
		hitRatio: newDesc("shoal_get_hit_ratio", "Share of the keys asked for by gets that were found, since the node started or stats reset."),
		hotReads: newDesc("shoal_hotkey_reads",
			"Estimated recent reads of one of the most read keys (sampled; halved every minute); the key is %-escaped.", "key"),
		hotWrites: newDesc("shoal_hotkey_writes",
			"Estimated recent writes of one of the most written keys (sampled; halved every minute); the key is %-escaped.", "key"),
		config: newDesc("shoal_config_get_total", "Total number of config get commands served (cluster discovery)."),
		waiting: newDesc("shoal_connections_waiting",
			"Connections waiting for a request with a goroutine of their own (busy ones, up to a bound for the rest)."),
		parked: newDesc("shoal_connections_parked",
			"Connections idle in the node's epoll set, holding no goroutine or buffer."),
		parks: newDesc("shoal_connection_parks_total",
			"Times a connection was parked; climbing with a steady load means requests pay a park and a wake."),
	}
}

func (c *shoalCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.duration, c.hitRatio, c.hotReads, c.hotWrites, c.config,
		c.waiting, c.parked, c.parks} {
		ch <- d
	}
}

func (c *shoalCollector) Collect(ch chan<- prometheus.Metric) {
	for f := range latency.NumFamilies {
		s := c.srv.Latency(f)
		bounds, counts := s.Octaves()
		buckets := make(map[float64]uint64, len(bounds))
		for i, b := range bounds {
			buckets[b] = counts[i]
		}
		ch <- prometheus.MustNewConstHistogram(c.duration, s.Count, s.Sum.Seconds(), buckets, f.String())
	}
	conns := c.srv.ConnEngine()
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(conns.Waiting))
	ch <- prometheus.MustNewConstMetric(c.parked, prometheus.GaugeValue, float64(conns.Parked))
	ch <- prometheus.MustNewConstMetric(c.parks, prometheus.CounterValue, float64(conns.Parks))
	general := readStats(c.srv, "")
	general.emit(ch, statMetric{key: "cmd_config_get", desc: c.config, typ: counter, parse: parseFloat})
	if c.srv.Store() == nil {
		return
	}
	hits, okH := general.value("get_hits", parseFloat)
	misses, okM := general.value("get_misses", parseFloat)
	if okH && okM && hits+misses > 0 {
		ch <- prometheus.MustNewConstMetric(c.hitRatio, prometheus.GaugeValue, hits/(hits+misses))
	}
	reads, writes := c.srv.HotKeys()
	c.collectHot(ch, c.hotReads, reads)
	c.collectHot(ch, c.hotWrites, writes)
}

func (c *shoalCollector) collectHot(ch chan<- prometheus.Metric, d *prometheus.Desc, es []hotkeys.Entry) {
	for _, e := range es {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(e.Count), hotkeys.Escape(e.Key))
	}
}
