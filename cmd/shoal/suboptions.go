package main

import (
	"errors"
	"strconv"
	"time"

	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/node"
)

// The suboptions of -o, every one memcached 1.6.18 documents (Debian's
// build: with TLS and extstore, without the proxy). Those that map to a
// shoal setting set it; memcached's own no-ops and what shoal always does
// are accepted; the rest are ignored with a warning saying why.

// tlsSuboptions are the ssl_* suboptions, into node.Config.TLS.
func tlsSuboptions(ext *settings.Extended, t *node.TLSConfig) {
	ext.Option("ssl_chain_cert", setString(&t.CertFile))
	ext.Option("ssl_key", setString(&t.KeyFile))
	ext.Option("ssl_ca_cert", setString(&t.CAFile))
	ext.Option("ssl_ciphers", setString(&t.Ciphers))
	ext.Option("ssl_verify_mode", setIntIn(&t.VerifyMode, 0, 3, "invalid ssl_verify_mode: 0 (none), 1 (request), 2 (require) or 3 (once)"))
	ext.Option("ssl_min_version", func(v string) error {
		var n int
		if err := setIntIn(&n, 0, 3, "invalid ssl_min_version: 0 (TLS 1.0), 1 (TLS 1.1), 2 (TLS 1.2) or 3 (TLS 1.3)")(v); err != nil {
			return err
		}
		t.MinVersion = "tlsv1." + strconv.Itoa(n) // as memcached's stats settings names it
		return nil
	})
	ext.Switch("ssl_session_cache", func() { t.SessionCache = true })
	ext.Option("ssl_keyformat", func(v string) error {
		if v != "1" { // OpenSSL's SSL_FILETYPE_PEM
			return errors.New("shoal reads PEM keys only (ssl_keyformat=1)")
		}
		return nil
	})
	ext.Ignored("ssl_wbuf_size", "Go's TLS sizes its own record buffers")
	ext.Ignored("ssl_kernel_tls", "there is no kernel TLS offload")
}

// serverSuboptions are the suboptions about connections, which a node and
// an endpoint share.
func serverSuboptions(ext *settings.Extended, c *node.Config) {
	ext.Option("idle_timeout", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errors.New("takes seconds")
		}
		c.IdleTimeout = time.Duration(n) * time.Second
		return nil
	})
	ext.Accepted("maxconns_fast") // a connection past -c is told so and closed at once, always
	ext.Ignored("no_maxconns_fast", "a connection past -c is always told so and closed at once")
	ext.Ignored("read_buf_mem_limit", "each connection has its own 16 KB read and write buffers")
	for _, k := range []string{"watcher_logbuf_size", "worker_logbuf_size"} {
		ext.Ignored(k, "shoal has no watch command (logs go to zap)")
	}
	ext.Accepted("no_drop_privileges") // memcached's default
	ext.Ignored("drop_privileges", "shoal installs no seccomp filter")
	ext.Ignored("sock_cookie_id", "listening sockets get no SO_MARK")
	for _, k := range []string{"modern", "inline_ascii_resp", "no_inline_ascii_resp"} {
		ext.Accepted(k) // no-ops in memcached 1.6 too
	}
	ext.Ignored("no_modern", "shoal has no 1.4-era defaults to go back to")
	ext.Ignored("resp_obj_mem_limit", "memcached deprecated it: no longer used")
	ext.Option("proxy_config", func(string) error {
		return errors.New("memcached's proxy mode is not in shoal: nodes are caches, and clients find them through the configuration endpoint")
	})
	ext.Ignored("proxy_uring", "memcached's proxy mode is not in shoal")
}

// storeSuboptions are the node's storage suboptions.
func storeSuboptions(ext *settings.Extended, c *node.Config) {
	ext.Accepted("slab_reassign") // on by default, as in memcached 1.6
	ext.Switch("no_slab_reassign", func() { c.NoSlabReassign = true })
	ext.Optional("slab_automove", "1", setIntIn(&c.SlabAutomove, 0, 2, "slab_automove must be between 0 and 2"))
	ext.Switch("no_slab_automove", func() { c.SlabAutomove = 0 })
	ext.Option("slab_automove_ratio", func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return err
		}
		c.SlabAutomoveRatio = f
		return nil
	})
	ext.Option("slab_automove_window", setIntIn(&c.SlabAutomoveWindow, 3, 1<<20, "slab_automove_window must be > 2"))
	ext.Accepted("lru_crawler") // on by default
	ext.Switch("no_lru_crawler", func() { c.NoLRUCrawler = true })
	for _, k := range []string{"lru_crawler_sleep", "lru_crawler_tocrawl"} {
		ext.Ignored(k, "the crawler checks a fixed 20,000 items a second")
	}
	ext.Accepted("no_chunked_items") // shoal stores an item in one piece, always
	ext.Ignored("slab_chunk_max", "items are appended to 1 MB segments; one larger than a segment gets a run of them")
	ext.Ignored("slab_sizes", "classes grow from -n by -f")
	for _, k := range []string{"hashpower", "no_hashexpand", "hash_algorithm"} {
		ext.Ignored(k, "the index is 64 shards of tables that grow by themselves, hashed with Go's maphash")
	}
	ext.Ignored("tail_repair_time", "shoal has no item reference counts to repair")
	ext.Accepted("lru_maintainer") // shoal's LRU needs no maintainer thread
	for _, k := range []string{"no_lru_maintainer", "hot_lru_pct", "warm_lru_pct", "hot_max_factor", "warm_max_factor", "temporary_ttl"} {
		ext.Ignored(k, "shoal keeps one LRU per class with an active bit, not hot, warm and cold ones")
	}
	ext.Ignored("track_sizes", "stats sizes is not kept")
	for _, k := range []string{"ext_path", "ext_page_size", "ext_wbuf_size", "ext_threads", "ext_io_depth", "ext_item_size",
		"ext_item_age", "ext_low_ttl", "ext_recache_rate", "ext_compact_under", "ext_drop_under", "ext_max_sleep",
		"ext_max_frag", "ext_drop_unread", "slab_automove_freeratio"} {
		ext.Ignored(k, "there is no external storage (extstore): items live in memory")
	}
}

func setString(p *string) func(string) error {
	return func(v string) error { *p = v; return nil }
}

// setIntIn sets an integer in [lo, hi], or fails with msg.
func setIntIn(p *int, lo, hi int, msg string) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return errors.New(msg)
		}
		*p = n
		return nil
	}
}
