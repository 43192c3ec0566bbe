package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoal-cache/shoal/node"
)

// memcachedCollector exports a server's stats as memcached_exporter
// exports memcached's, read at scrape time through node.Server.Stats, the
// lines `stats` prints. A configuration endpoint, which stores nothing,
// exports the process's metrics and none of the store's.
type memcachedCollector struct {
	srv                    *node.Server
	storage                bool
	up, version            *prometheus.Desc
	commands, slabCommands *prometheus.Desc
	lruHits                *prometheus.Desc
	process, store         []statMetric
	settings, crawler      []statMetric
	items, slabs           []statMetric
}

func newMemcachedCollector(srv *node.Server) *memcachedCollector {
	c := &memcachedCollector{
		srv:     srv,
		storage: srv.Store() != nil,
		up:      newDesc("memcached_up", "Could the memcached server be reached."),
		version: newDesc("memcached_version", "The version of this memcached server.", "version"),
		commands: newDesc("memcached_commands_total",
			"Total number of all requests broken down by command (get, set, etc.) and status.", "command", "status"),
		slabCommands: newDesc("memcached_slab_commands_total",
			"Total number of all requests broken down by command (get, set, etc.) and status per slab.", "slab", "command", "status"),
		lruHits: newDesc("memcached_slab_lru_hits_total", "Number of get_hits to the LRU.", "slab", "lru"),
		process: processStats(), store: storeStats(), items: itemStats(), slabs: slabStats(),
	}
	c.settings, c.crawler = settingStats()
	return c
}

// Describe sends every descriptor, whether or not the server has the stat.
func (c *memcachedCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.version, c.commands, c.slabCommands, c.lruHits} {
		ch <- d
	}
	for _, ms := range [][]statMetric{c.process, c.store, c.settings, c.crawler, c.items, c.slabs} {
		for _, m := range ms {
			ch <- m.desc
		}
	}
}

// Collect reads the stats and sends what they have.
func (c *memcachedCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	general := readStats(c.srv, "")
	ch <- prometheus.MustNewConstMetric(c.version, prometheus.GaugeValue, 1, general["version"])
	for _, m := range c.process {
		general.emit(ch, m)
	}
	settings := readStats(c.srv, "settings")
	for _, m := range c.settings {
		settings.emit(ch, m)
	}
	if !c.storage {
		return
	}
	for _, m := range c.store {
		general.emit(ch, m)
	}
	c.collectCommands(ch, general)
	if settings["lru_crawler"] == "yes" {
		for _, m := range c.crawler {
			settings.emit(ch, m)
		}
	}
	c.collectItems(ch, readStats(c.srv, "items").byClass("items:"))
	c.collectSlabs(ch, readStats(c.srv, "slabs").byClass(""))
}

// collectCommands counts commands by status as the exporter does; sets
// without the CAS commands, which memcached counts in cmd_set too.
func (c *memcachedCollector) collectCommands(ch chan<- prometheus.Metric, s stats) {
	cmd := func(v float64, op, status string) {
		ch <- prometheus.MustNewConstMetric(c.commands, prometheus.CounterValue, v, op, status)
	}
	for _, op := range hitOps {
		if v, ok := s.value(op+"_hits", parseFloat); ok {
			cmd(v, op, "hit")
		}
		if v, ok := s.value(op+"_misses", parseFloat); ok {
			cmd(v, op, "miss")
		}
	}
	if v, ok := s.value("cas_badval", parseFloat); ok {
		cmd(v, "cas", "badval")
	}
	if v, ok := s.value("cmd_flush", parseFloat); ok {
		cmd(v, "flush", "hit")
	}
	set, okSet := s.value("cmd_set", parseFloat)
	cas, okCAS := s.sum("cas_misses", "cas_hits", "cas_badval")
	if okSet && okCAS {
		cmd(set-cas, "set", "hit")
	}
}

func (c *memcachedCollector) collectItems(ch chan<- prometheus.Metric, classes map[string]stats) {
	for class, s := range classes {
		for _, m := range c.items {
			s.emit(ch, m, class)
		}
		for _, h := range lruHits {
			if v, ok := s.value(h.key, parseFloat); ok {
				ch <- prometheus.MustNewConstMetric(c.lruHits, prometheus.CounterValue, v, class, h.lru)
			}
		}
	}
}

func (c *memcachedCollector) collectSlabs(ch chan<- prometheus.Metric, classes map[string]stats) {
	for class, s := range classes {
		for _, m := range c.slabs {
			s.emit(ch, m, class)
		}
		cmd := func(v float64, op, status string) {
			ch <- prometheus.MustNewConstMetric(c.slabCommands, prometheus.CounterValue, v, class, op, status)
		}
		for _, op := range hitOps {
			if v, ok := s.value(op+"_hits", parseFloat); ok {
				cmd(v, op, "hit")
			}
		}
		if v, ok := s.value("cas_badval", parseFloat); ok {
			cmd(v, "cas", "badval")
		}
		set, okSet := s.value("cmd_set", parseFloat)
		cas, okCAS := s.sum("cas_hits", "cas_badval")
		if okSet && okCAS {
			cmd(set-cas, "set", "hit")
		}
	}
}
