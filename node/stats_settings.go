package node

import (
	"cmp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-cache/shoal/node/internal/store"
)

// appendSettings serves `stats settings`: every setting memcached 1.6 lists
// (but extstore's, which shoal has not), in memcached's order, with shoal's
// values. A setting that means nothing for shoal (an LRU tuning of
// memcached's segmented LRU, a hash power) shows memcached's default, which
// is what a client reading it expects of a server that does not tune it.
func (s *Server) appendSettings(b []byte) []byte {
	cfg := s.cfg
	orNULL := func(v string) string { return cmp.Or(v, "NULL") }
	b = stat(b, "maxbytes", s.limitBytes())
	b = stat(b, "maxconns", cfg.ConnLimit)
	b = stat(b, "tcpport", cfg.Port)
	b = stat(b, "udpport", 0)
	b = stat(b, "inter", orNULL(strings.Join(cfg.Listen, ",")))
	b = stat(b, "verbosity", int(s.verbosity.Load()))
	b = stat(b, "oldest", 0)
	b = stat(b, "evictions", onOff(!cfg.DisableEvictions))
	b = stat(b, "domain_socket", orNULL(cfg.UnixSocket))
	b = stat(b, "umask", strconv.FormatUint(uint64(cfg.UnixMask), 8))
	b = stat(b, "shutdown_command", cfg.EnableShutdown)
	b = stat(b, "growth_factor", cfg.GrowthFactor)
	b = stat(b, "chunk_size", cfg.MinChunk)
	b = stat(b, "num_threads", cfg.Threads)
	b = stat(b, "num_threads_per_udp", cfg.Threads)
	b = stat(b, "stat_key_prefix", string(cfg.PrefixDelimiter))
	b = stat(b, "detail_enabled", s.detail.on.Load())
	b = stat(b, "reqs_per_event", 20)
	b = stat(b, "cas_enabled", !cfg.DisableCAS)
	b = stat(b, "tcp_backlog", 1024)
	b = stat(b, "binding_protocol", s.bindingProtocol())
	b = stat(b, "auth_enabled_sasl", cfg.SASL)
	b = stat(b, "auth_enabled_ascii", cmp.Or(cfg.AuthFile, "no"))
	b = stat(b, "item_size_max", cfg.MaxItemSize)
	b = stat(b, "maxconns_fast", true)
	b = stat(b, "hashpower_init", 0)
	b = stat(b, "slab_reassign", !cfg.NoSlabReassign)
	automove, ratio := cfg.SlabAutomove, cfg.SlabAutomoveRatio
	if s.store != nil {
		automove, ratio = int(s.store.Automove()), s.store.AutomoveRatio()
	}
	b = stat(b, "slab_automove", automove)
	b = stat(b, "slab_automove_ratio", ratio)
	b = stat(b, "slab_automove_window", cfg.SlabAutomoveWindow)
	b = stat(b, "slab_chunk_max", cfg.MaxItemSize/2)
	b = stat(b, "lru_crawler", !cfg.NoLRUCrawler)
	b = stat(b, "lru_crawler_sleep", 100)
	b = stat(b, "lru_crawler_tocrawl", 0)
	b = stat(b, "tail_repair_time", 0)
	b = stat(b, "flush_enabled", !slices.Contains(cfg.DisabledCommands, "flush_all"))
	b = stat(b, "dump_enabled", !cfg.DisableDumping)
	b = stat(b, "hash_algorithm", "maphash")
	b = stat(b, "lru_maintainer_thread", !cfg.NoLRUCrawler)
	b = stat(b, "lru_segmented", false)
	b = stat(b, "hot_lru_pct", 20)
	b = stat(b, "warm_lru_pct", 40)
	b = stat(b, "hot_max_factor", 0.20)
	b = stat(b, "warm_max_factor", 2.00)
	b = stat(b, "temp_lru", false)
	b = stat(b, "temporary_ttl", 61)
	b = stat(b, "idle_timeout", int64(cfg.IdleTimeout/time.Second))
	b = stat(b, "watcher_logbuf_size", watcherBufSize)
	b = stat(b, "worker_logbuf_size", 64<<10)
	b = stat(b, "read_buf_mem_limit", 0)
	b = stat(b, "track_sizes", false)
	b = stat(b, "inline_ascii_response", false)
	b = appendTLSSettings(b, cfg.TLS)
	b = stat(b, "num_napi_ids", "(null)")
	b = stat(b, "memory_file", "(null)")
	b = stat(b, "slab_page_size", store.PageSize)
	return stat(b, "go_version", runtime.Version())
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// limitBytes is the item memory limit in force (cache_memlimit moves it).
func (s *Server) limitBytes() int64 {
	if s.store != nil {
		return int64(s.store.Totals().LimitBytes)
	}
	return int64(s.cfg.MemoryLimitMB) << 20
}
