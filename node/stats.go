package node

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shoal-cache/shoal/protocol"
)

// stats serves `stats`, `stats settings|items|slabs|sizes|conns|reset`
// and `stats cachedump` (dump.go).
func (c *conn) stats(tokens [][]byte) {
	var b []byte
	switch {
	case len(tokens) == 1:
		b = c.s.appendGeneralStats(c.scratch[:0])
	case string(tokens[1]) == "reset":
		c.s.resetStats()
		c.write(protocol.RespReset)
		return
	case string(tokens[1]) == "settings":
		b = c.s.appendSettings(c.scratch[:0])
	case string(tokens[1]) == "items":
		b = c.s.appendItemStats(c.scratch[:0])
	case string(tokens[1]) == "slabs":
		b = c.s.appendSlabStats(c.scratch[:0])
	case string(tokens[1]) == "sizes":
		b = protocol.AppendStat(c.scratch[:0], "sizes_status", "disabled")
	case string(tokens[1]) == "conns":
		b = c.s.appendConnStats(c.scratch[:0])
	case string(tokens[1]) == "cachedump":
		c.cachedump(tokens)
		return
	default:
		c.write(protocol.RespError)
		return
	}
	c.scratch = append(b, protocol.RespEnd...)
	c.write(c.scratch)
}

func stat(b []byte, name string, v any) []byte {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case uint64:
		s = strconv.FormatUint(v, 10)
	case uint32:
		s = strconv.FormatUint(uint64(v), 10)
	case bool:
		s = "no"
		if v {
			s = "yes"
		}
	case float64:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		s = fmt.Sprint(v)
	}
	return protocol.AppendStat(b, name, s)
}

// StoreTotals are the store's counters summed over shards and classes.
type StoreTotals struct {
	opStats
	CurrItems, Bytes                                 int
	Evictions, Reclaimed, ExpiredUnfetched           uint64
	EvictedUnfetched, OutOfMemory, PagesMoved, Pages uint64
	Rescues, EvictionsNomem, CrawlerReclaimed        uint64
	CrawlerChecked                                   uint64
	LimitBytes                                       int64
	TotalMalloced                                    int64
}

// Totals sums the store's counters.
func (s *Store) Totals() StoreTotals {
	var t StoreTotals
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		t.opStats.add(&sh.stats)
		sh.mu.Unlock()
	}
	for _, c := range s.slabs.classes[1:] {
		c.mu.Lock()
		t.CurrItems += c.lru.items
		t.Bytes += c.lru.bytes
		t.Evictions += c.stats.evicted
		t.Reclaimed += c.stats.reclaimed
		t.ExpiredUnfetched += c.stats.expiredUnfetched
		t.EvictedUnfetched += c.stats.evictedUnfetched
		t.OutOfMemory += c.stats.outOfMemory
		t.PagesMoved += c.stats.pagesMoved
		t.Rescues += c.stats.rescues
		t.EvictionsNomem += c.stats.evictionsNomem
		t.CrawlerReclaimed += c.stats.crawlerReclaimed
		c.mu.Unlock()
	}
	s.slabs.pageMu.Lock()
	t.Pages = uint64(s.slabs.nextPage - 1)
	t.LimitBytes = int64(s.slabs.limitPages) * int64(s.arena.pageSize)
	s.slabs.pageMu.Unlock()
	t.TotalMalloced = int64(t.Pages) * int64(s.arena.pageSize)
	t.CrawlerChecked = s.crawler.checked.Load()
	return t
}

// resetStats zeroes the counters `stats reset` resets.
func (s *Server) resetStats() {
	s.stats.totalConns.Store(0)
	s.stats.rejectedConns.Store(0)
	s.stats.cmdFlush.Store(0)
	s.stats.cmdConfigGet.Store(0)
	s.stats.bytesRead.Store(0)
	s.stats.bytesWritten.Store(0)
	s.stats.listenDisabled.Store(0)
	if st := s.store; st != nil {
		for i := range st.shards {
			sh := &st.shards[i]
			sh.mu.Lock()
			sh.stats = opStats{}
			sh.mu.Unlock()
		}
		for _, c := range st.slabs.classes[1:] {
			c.mu.Lock()
			c.stats = classStats{}
			c.mu.Unlock()
		}
	}
}

func (s *Server) appendGeneralStats(b []byte) []byte {
	now := time.Now()
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b = stat(b, "pid", os.Getpid())
	b = stat(b, "uptime", int64(now.Sub(s.started)/time.Second))
	b = stat(b, "time", now.Unix())
	b = stat(b, "version", ProtocolVersion)
	b = stat(b, "libevent", "shoal")
	b = stat(b, "shoal_version", Release)
	b = stat(b, "pointer_size", 64)
	b = stat(b, "rusage_user", fmt.Sprintf("%d.%06d", ru.Utime.Sec, ru.Utime.Usec))
	b = stat(b, "rusage_system", fmt.Sprintf("%d.%06d", ru.Stime.Sec, ru.Stime.Usec))
	b = stat(b, "max_connections", s.cfg.ConnLimit)
	b = stat(b, "curr_connections", s.stats.currConns.Load())
	b = stat(b, "total_connections", s.stats.totalConns.Load())
	b = stat(b, "rejected_connections", s.stats.rejectedConns.Load())
	b = stat(b, "allow_refused", s.allow.refused.Load())
	b = stat(b, "connection_structures", s.stats.currConns.Load())
	var t StoreTotals
	if s.store != nil {
		t = s.store.Totals()
	}
	b = stat(b, "cmd_get", t.getCmds)
	b = stat(b, "cmd_set", t.setCmds)
	b = stat(b, "cmd_flush", s.stats.cmdFlush.Load())
	b = stat(b, "cmd_touch", t.touchCmds)
	b = stat(b, "cmd_meta", s.stats.cmdMeta.Load())
	b = stat(b, "cmd_config_get", s.stats.cmdConfigGet.Load())
	b = stat(b, "get_hits", t.getHits)
	b = stat(b, "get_misses", t.getMisses)
	b = stat(b, "get_expired", t.getExpired)
	b = stat(b, "get_flushed", t.getFlushed)
	b = stat(b, "delete_misses", t.deleteMisses)
	b = stat(b, "delete_hits", t.deleteHits)
	b = stat(b, "incr_misses", t.incrMisses)
	b = stat(b, "incr_hits", t.incrHits)
	b = stat(b, "decr_misses", t.decrMisses)
	b = stat(b, "decr_hits", t.decrHits)
	b = stat(b, "cas_misses", t.casMisses)
	b = stat(b, "cas_hits", t.casHits)
	b = stat(b, "cas_badval", t.casBadval)
	b = stat(b, "touch_hits", t.touchHits)
	b = stat(b, "touch_misses", t.touchMisses)
	b = stat(b, "store_too_large", s.stats.storeTooLarge.Load())
	b = stat(b, "store_no_memory", s.stats.storeNoMemory.Load())
	b = stat(b, "auth_cmds", s.auth.cmds.Load())
	b = stat(b, "auth_errors", s.auth.fails.Load())
	b = stat(b, "bytes_read", s.stats.bytesRead.Load())
	b = stat(b, "bytes_written", s.stats.bytesWritten.Load())
	b = stat(b, "limit_maxbytes", t.LimitBytes)
	b = stat(b, "listen_disabled_num", s.stats.listenDisabled.Load())
	b = stat(b, "threads", s.cfg.Threads)
	b = stat(b, "bytes", t.Bytes)
	b = stat(b, "curr_items", t.CurrItems)
	b = stat(b, "total_items", t.totalItems)
	b = stat(b, "slab_reassign_rescues", t.Rescues)
	b = stat(b, "slab_reassign_evictions_nomem", t.EvictionsNomem)
	b = stat(b, "slab_reassign_busy_items", 0)
	b = stat(b, "slabs_moved", t.PagesMoved)
	b = stat(b, "total_malloced", t.TotalMalloced)
	b = stat(b, "expired_unfetched", t.ExpiredUnfetched)
	b = stat(b, "evicted_unfetched", t.EvictedUnfetched)
	b = stat(b, "evictions", t.Evictions)
	b = stat(b, "reclaimed", t.Reclaimed)
	b = stat(b, "crawler_reclaimed", t.CrawlerReclaimed)
	b = stat(b, "crawler_items_checked", t.CrawlerChecked)
	b = s.appendTLSStats(b)
	curr := 0
	if s.clusterConfig() != nil {
		curr = 1
	}
	b = stat(b, "curr_config", curr)
	return b
}

func (s *Server) appendSettings(b []byte) []byte {
	cfg := s.cfg
	b = stat(b, "maxbytes", int64(cfg.MemoryLimitMB)<<20)
	b = stat(b, "maxconns", cfg.ConnLimit)
	b = stat(b, "tcpport", cfg.Port)
	b = stat(b, "udpport", 0)
	b = stat(b, "inter", strings.Join(cfg.Listen, ","))
	b = stat(b, "verbosity", int(s.verbosity.Load()))
	evictions := "on"
	if cfg.DisableEvictions {
		evictions = "off"
	}
	b = stat(b, "evictions", evictions)
	b = stat(b, "growth_factor", cfg.GrowthFactor)
	b = stat(b, "chunk_size", cfg.MinChunk)
	b = stat(b, "num_threads", cfg.Threads)
	b = stat(b, "cas_enabled", !cfg.DisableCAS)
	b = stat(b, "binding_protocol", s.bindingProtocol())
	b = stat(b, "auth_enabled_sasl", cfg.SASL)
	b = stat(b, "auth_enabled_ascii", cmp.Or(cfg.AuthFile, "no"))
	b = stat(b, "item_size_max", cfg.MaxItemSize)
	b = stat(b, "shutdown_command", cfg.EnableShutdown)
	b = stat(b, "slab_reassign", !cfg.NoSlabReassign)
	b = stat(b, "slab_automove", cfg.SlabAutomove)
	b = stat(b, "slab_automove_ratio", cfg.SlabAutomoveRatio)
	b = stat(b, "slab_automove_window", cfg.SlabAutomoveWindow)
	b = stat(b, "lru_crawler", !cfg.NoLRUCrawler)
	b = stat(b, "idle_timeout", int64(cfg.IdleTimeout/time.Second))
	b = stat(b, "dump_enabled", !cfg.DisableDumping)
	b = stat(b, "slab_page_size", pageSize)
	b = stat(b, "flush_enabled", !slices.Contains(cfg.DisabledCommands, "flush_all"))
	b = appendTLSSettings(b, cfg.TLS)
	b = stat(b, "go_version", runtime.Version())
	return b
}

func (s *Server) appendItemStats(b []byte) []byte {
	st := s.store
	if st == nil {
		return b
	}
	now := st.Now()
	for _, c := range st.slabs.classes[1:] {
		c.mu.Lock()
		if c.lru.items == 0 && c.stats == (classStats{}) {
			c.mu.Unlock()
			continue
		}
		p := "items:" + strconv.Itoa(c.id) + ":"
		age := uint32(0)
		if c.lru.tail != 0 {
			age = now - st.m.u32(c.lru.tail, hdrAtime)
		}
		b = stat(b, p+"number", c.lru.items)
		b = stat(b, p+"age", age)
		b = stat(b, p+"evicted", c.stats.evicted)
		b = stat(b, p+"evicted_nonzero", c.stats.evictedNonzero)
		b = stat(b, p+"evicted_time", c.stats.evictedTime)
		b = stat(b, p+"outofmemory", c.stats.outOfMemory)
		b = stat(b, p+"reclaimed", c.stats.reclaimed)
		b = stat(b, p+"expired_unfetched", c.stats.expiredUnfetched)
		b = stat(b, p+"evicted_unfetched", c.stats.evictedUnfetched)
		b = stat(b, p+"crawler_reclaimed", c.stats.crawlerReclaimed)
		c.mu.Unlock()
	}
	return b
}

func (s *Server) appendSlabStats(b []byte) []byte {
	st := s.store
	if st == nil {
		return protocol.AppendStat(b, "active_slabs", "0")
	}
	active := 0
	for _, c := range st.slabs.classes[1:] {
		c.mu.Lock()
		if len(c.pages) == 0 {
			c.mu.Unlock()
			continue
		}
		active++
		p := strconv.Itoa(c.id) + ":"
		total := len(c.pages) * c.perPage
		end := 0
		if c.carvePage != 0 {
			end = c.perPage - c.carveNext
		}
		b = stat(b, p+"chunk_size", c.size)
		b = stat(b, p+"chunks_per_page", c.perPage)
		b = stat(b, p+"total_pages", len(c.pages))
		b = stat(b, p+"total_chunks", total)
		b = stat(b, p+"used_chunks", c.lru.items)
		b = stat(b, p+"free_chunks", c.nfree)
		b = stat(b, p+"free_chunks_end", end)
		c.mu.Unlock()
	}
	t := st.Totals()
	b = stat(b, "active_slabs", active)
	return stat(b, "total_malloced", t.TotalMalloced)
}

func (s *Server) appendConnStats(b []byte) []byte {
	type info struct {
		id            uint64
		local, remote net.Addr
		waiting       bool
		idle          int64 // seconds
	}
	now := time.Now().UnixNano()
	var list []info
	s.mu.Lock()
	for c := range s.conns {
		list = append(list, info{c.id, c.nc.LocalAddr(), c.nc.RemoteAddr(), c.idle.Load(),
			(now - c.lastCmd.Load()) / int64(time.Second)})
	}
	s.mu.Unlock()
	if p := s.poll; p != nil {
		p.mu.Lock()
		for fd, pc := range p.parked {
			if pc.c == nil { // a TLS one is in s.conns
				local, remote, idle := pc.connInfo(fd)
				list = append(list, info{pc.id, local, remote, true, int64(idle / time.Second)})
			}
		}
		p.mu.Unlock()
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	for _, c := range list {
		p := strconv.FormatUint(c.id, 10) + ":"
		b = stat(b, p+"addr", netAddr(c.remote))
		b = stat(b, p+"listen_addr", netAddr(c.local))
		state := "conn_parse_cmd"
		if c.waiting {
			state = "conn_waiting"
		}
		b = stat(b, p+"state", state)
		b = stat(b, p+"secs_since_last_cmd", c.idle)
	}
	return b
}

// bindingProtocol is the protocol connections speak, as memcached's stats
// settings shows -B (authentication forces one, as there).
func (s *Server) bindingProtocol() string {
	if p := s.protocol(); p != "auto" {
		return p
	}
	return "auto-negotiate"
}

// netAddr writes an address as memcached's stats conns does: tcp:IP:PORT,
// or for a UNIX socket unix:PATH.
func netAddr(a net.Addr) string {
	if u, ok := a.(*net.UnixAddr); ok {
		return "unix:" + strings.TrimPrefix(u.Name, "@") // Go names an unbound client "@"
	}
	return a.Network() + ":" + a.String()
}

// SetMemoryLimit changes the item memory limit (cache_memlimit). Pages
// above a lowered limit stay in use; no new ones are taken.
func (s *Store) SetMemoryLimit(bytes int64) bool {
	pages := int(bytes / int64(s.arena.pageSize))
	if pages < 1 || pages >= s.arena.pages() {
		return false
	}
	s.slabs.setLimit(pages)
	return true
}
