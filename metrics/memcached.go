package metrics

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoal-cache/shoal/node"
)

// statMetric is a metric read from one stats key, named, typed and
// explained as memcached_exporter does.
type statMetric struct {
	key   string
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	parse func(string) (float64, bool)
}

var (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

func stat(key, name, help string, typ prometheus.ValueType, labels ...string) statMetric {
	return statMetric{key: key, desc: newDesc(name, help, labels...), typ: typ, parse: parseFloat}
}

// The general stats every process has, node or endpoint.
func processStats() []statMetric {
	rusage := func(key, name, help string) statMetric {
		m := stat(key, name, help, counter)
		m.parse = parseTimeval
		return m
	}
	return []statMetric{
		// memcached_exporter types this a counter, which promtool refuses
		// without _total; the name is the same, so dashboards work.
		stat("uptime", "memcached_uptime_seconds", "Number of seconds since the server started.", gauge),
		stat("time", "memcached_time_seconds", "current UNIX time according to the server.", gauge),
		rusage("rusage_user", "memcached_process_user_cpu_seconds_total", "Accumulated user time for this process."),
		rusage("rusage_system", "memcached_process_system_cpu_seconds_total", "Accumulated system time for this process."),
		stat("bytes_read", "memcached_read_bytes_total", "Total number of bytes read by this server from network.", counter),
		stat("bytes_written", "memcached_written_bytes_total", "Total number of bytes sent by this server to network.", counter),
		stat("curr_connections", "memcached_current_connections", "Current number of open connections.", gauge),
		stat("total_connections", "memcached_connections_total", "Total number of connections opened since the server started running.", counter),
		stat("rejected_connections", "memcached_connections_rejected_total", "Total number of connections rejected due to hitting the memcached's -c limit in maxconns_fast mode.", counter),
		stat("conn_yields", "memcached_connections_yielded_total", "Total number of connections yielded running due to hitting the memcached's -R limit.", counter),
		stat("listen_disabled_num", "memcached_connections_listener_disabled_total", "Number of times that memcached has hit its connections limit and disabled its listener.", counter),
		stat("accepting_conns", "memcached_accepting_connections", "The Memcached server is currently accepting new connections.", gauge),
	}
}

// The general stats of a node's store.
func storeStats() []statMetric {
	return []statMetric{
		stat("bytes", "memcached_current_bytes", "Current number of bytes used to store items.", gauge),
		stat("limit_maxbytes", "memcached_limit_bytes", "Number of bytes this server is allowed to use for storage.", gauge),
		stat("curr_items", "memcached_current_items", "Current number of items stored by this instance.", gauge),
		stat("total_items", "memcached_items_total", "Total number of items stored during the life of this instance.", counter),
		stat("evictions", "memcached_items_evicted_total", "Total number of valid items removed from cache to free memory for new items.", counter),
		stat("reclaimed", "memcached_items_reclaimed_total", "Total number of times an entry was stored using memory from an expired entry.", counter),
		stat("store_too_large", "memcached_item_too_large_total", "The number of times an item exceeded the max-item-size when being stored.", counter),
		stat("store_no_memory", "memcached_item_no_memory_total", "The number of times an item could not be stored due to no more memory.", counter),
		stat("lru_crawler_starts", "memcached_lru_crawler_starts_total", "Times an LRU crawler was started.", counter),
		stat("direct_reclaims", "memcached_direct_reclaims_total", "Times worker threads had to directly reclaim or evict items.", counter),
		stat("crawler_items_checked", "memcached_lru_crawler_items_checked_total", "Total items examined by LRU Crawler.", counter),
		stat("crawler_reclaimed", "memcached_lru_crawler_reclaimed_total", "Total items freed by LRU Crawler.", counter),
		stat("moves_to_cold", "memcached_lru_crawler_moves_to_cold_total", "Total number of items moved from HOT/WARM to COLD LRU's.", counter),
		stat("moves_to_warm", "memcached_lru_crawler_moves_to_warm_total", "Total number of items moved from COLD to WARM LRU.", counter),
		stat("moves_within_lru", "memcached_lru_crawler_moves_within_lru_total", "Total number of items reshuffled within HOT or WARM LRU's.", counter),
		stat("total_malloced", "memcached_malloced_bytes", "Number of bytes of memory allocated to slab pages.", gauge),
	}
}

// settingStats are read from `stats settings`; the LRU crawler's only when
// it is on, as memcached_exporter reads them.
func settingStats() (always, crawler []statMetric) {
	boolean := func(key, name, help string) statMetric {
		m := stat(key, name, help, gauge)
		m.parse = parseBool
		return m
	}
	always = []statMetric{stat("maxconns", "memcached_max_connections", "Maximum number of clients allowed.", gauge)}
	crawler = []statMetric{
		boolean("lru_crawler", "memcached_lru_crawler_enabled", "Whether the LRU crawler is enabled."),
		stat("lru_crawler_sleep", "memcached_lru_crawler_sleep", "Microseconds to sleep between LRU crawls.", gauge),
		stat("lru_crawler_tocrawl", "memcached_lru_crawler_to_crawl", "Max items to crawl per slab per run.", gauge),
		boolean("lru_maintainer_thread", "memcached_lru_crawler_maintainer_thread", "Split LRU mode and background threads."),
		stat("hot_lru_pct", "memcached_lru_crawler_hot_percent", "Percent of slab memory reserved for HOT LRU.", gauge),
		stat("warm_lru_pct", "memcached_lru_crawler_warm_percent", "Percent of slab memory reserved for WARM LRU.", gauge),
		stat("hot_max_factor", "memcached_lru_crawler_hot_max_factor", "Set idle age of HOT LRU to COLD age * this", gauge),
		stat("warm_max_factor", "memcached_lru_crawler_warm_max_factor", "Set idle age of WARM LRU to COLD age * this", gauge),
	}
	return always, crawler
}

// itemStats are the per class lines of `stats items` (items:CLASS:KEY).
func itemStats() []statMetric {
	s := func(key, name, help string, typ prometheus.ValueType) statMetric {
		return stat(key, name, help, typ, "slab")
	}
	return []statMetric{
		s("number", "memcached_slab_current_items", "Number of items currently stored in this slab class.", gauge),
		s("age", "memcached_slab_items_age_seconds", "Number of seconds the oldest item has been in the slab class.", gauge),
		s("crawler_reclaimed", "memcached_slab_items_crawler_reclaimed_total", "Number of items freed by the LRU Crawler.", counter),
		s("evicted", "memcached_slab_items_evicted_total", "Total number of times an item had to be evicted from the LRU before it expired.", counter),
		s("evicted_nonzero", "memcached_slab_items_evicted_nonzero_total", "Total number of times an item which had an explicit expire time set had to be evicted from the LRU before it expired.", counter),
		// A gauge (the exporter's counter fails promtool, and the value goes down).
		s("evicted_time", "memcached_slab_items_evicted_time_seconds", "Seconds since the last access for the most recent item evicted from this class.", gauge),
		s("evicted_unfetched", "memcached_slab_items_evicted_unfetched_total", "Total nmber of items evicted and never fetched.", counter),
		s("expired_unfetched", "memcached_slab_items_expired_unfetched_total", "Total number of valid items evicted from the LRU which were never touched after being set.", counter),
		s("outofmemory", "memcached_slab_items_outofmemory_total", "Total number of items for this slab class that have triggered an out of memory error.", counter),
		s("reclaimed", "memcached_slab_items_reclaimed_total", "Total number of items reclaimed.", counter),
		s("tailrepairs", "memcached_slab_items_tailrepairs_total", "Total number of times the entries for a particular ID need repairing.", counter),
		s("moves_to_cold", "memcached_slab_items_moves_to_cold", "Number of items moved from HOT or WARM into COLD.", counter),
		s("moves_to_warm", "memcached_slab_items_moves_to_warm", "Number of items moves from COLD into WARM.", counter),
		s("moves_within_lru", "memcached_slab_items_moves_within_lru", "Number of times active items were bumped within HOT or WARM.", counter),
		s("number_hot", "memcached_slab_hot_items", "Number of items presently stored in the HOT LRU.", gauge),
		s("number_warm", "memcached_slab_warm_items", "Number of items presently stored in the WARM LRU.", gauge),
		s("number_cold", "memcached_slab_cold_items", "Number of items presently stored in the COLD LRU.", gauge),
		s("number_temp", "memcached_slab_temporary_items", "Number of items presently stored in the TEMPORARY LRU.", gauge),
		s("age_hot", "memcached_slab_hot_age_seconds", "Age of the oldest item in HOT LRU.", gauge),
		s("age_warm", "memcached_slab_warm_age_seconds", "Age of the oldest item in HOT LRU.", gauge),
	}
}

// slabStats are the per class lines of `stats slabs` (CLASS:KEY).
func slabStats() []statMetric {
	s := func(key, name, help string) statMetric { return stat(key, name, help, gauge, "slab") }
	return []statMetric{
		s("chunk_size", "memcached_slab_chunk_size_bytes", "Number of bytes allocated to each chunk within this slab class."),
		s("chunks_per_page", "memcached_slab_chunks_per_page", "Number of chunks within a single page for this slab class."),
		s("total_pages", "memcached_slab_current_pages", "Number of pages allocated to this slab class."),
		s("total_chunks", "memcached_slab_current_chunks", "Number of chunks allocated to this slab class."),
		s("used_chunks", "memcached_slab_chunks_used", "Number of chunks allocated to an item."),
		s("free_chunks", "memcached_slab_chunks_free", "Number of chunks not yet allocated items."),
		s("free_chunks_end", "memcached_slab_chunks_free_end", "Number of free chunks at the end of the last allocated page."),
		s("mem_requested", "memcached_slab_mem_requested_bytes", "Number of bytes of memory actual items take up within a slab."),
	}
}

// lruHits are the per class get hits by LRU, in `stats items`.
var lruHits = []struct{ key, lru string }{
	{"hits_to_hot", "hot"}, {"hits_to_warm", "warm"}, {"hits_to_cold", "cold"}, {"hits_to_temp", "temporary"},
}

// hitOps are the commands counted as hits and misses (op_hits, op_misses).
var hitOps = []string{"get", "delete", "incr", "decr", "cas", "touch"}

// stats is one stats report by key.
type stats map[string]string

func readStats(srv *node.Server, group string) stats {
	lines, _ := srv.Stats(group)
	s := make(stats, len(lines))
	for _, l := range lines {
		s[l.Name] = l.Value
	}
	return s
}

// byClass splits per class keys, CLASS:KEY after prefix, by class.
func (s stats) byClass(prefix string) map[string]stats {
	out := map[string]stats{}
	for k, v := range s {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		class, key, ok := strings.Cut(rest, ":")
		if _, err := strconv.Atoi(class); !ok || err != nil {
			continue
		}
		if out[class] == nil {
			out[class] = stats{}
		}
		out[class][key] = v
	}
	return out
}

// emit sends m's value from s, if s has the key (a missing one is not an
// error: the exporter reads what a memcached version has).
func (s stats) emit(ch chan<- prometheus.Metric, m statMetric, labels ...string) {
	if v, ok := s.value(m.key, m.parse); ok {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, v, labels...)
	}
}

func (s stats) value(key string, parse func(string) (float64, bool)) (float64, bool) {
	raw, ok := s[key]
	if !ok {
		return 0, false
	}
	return parse(raw)
}

// sum adds keys' values; false unless all are there.
func (s stats) sum(keys ...string) (float64, bool) {
	total := 0.0
	for _, k := range keys {
		v, ok := s.value(k, parseFloat)
		if !ok {
			return 0, false
		}
		total += v
	}
	return total, true
}

func parseFloat(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

func parseBool(s string) (float64, bool) {
	switch s {
	case "yes":
		return 1, true
	case "no":
		return 0, true
	}
	return 0, false
}

// parseTimeval reads rusage's SECONDS.MICROSECONDS.
func parseTimeval(s string) (float64, bool) {
	sec, usec, ok := strings.Cut(s, ".")
	a, err1 := strconv.ParseFloat(sec, 64)
	b, err2 := strconv.ParseFloat(usec, 64)
	return a + b/1e6, ok && err1 == nil && err2 == nil
}
