// Package metrics exposes a shoal process to Prometheus: a node's or a
// configuration endpoint's counters under the names prometheus/memcached_exporter
// gives memcached's (so the Grafana dashboards people run for memcached work
// unchanged), and what memcached has no way to show (latency per command family,
// hot keys, the cluster as this member sees it).
//
// Everything is read at scrape time from the node's own counters; nothing is
// added to the request path but the latency histograms, which record without
// allocating.
package metrics
