package node

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shoal-cache/shoal/node/internal/store"
	"github.com/shoal-cache/shoal/protocol"
)

// statGroups are the reports `stats [group]` prints, by group ("" for
// plain `stats`); Server.Stats reads the same.
var statGroups = map[string]func(*Server, []byte) []byte{
	"":         (*Server).appendGeneralStats,
	"settings": (*Server).appendSettings,
	"items":    (*Server).appendItemStats,
	"slabs":    (*Server).appendSlabStats,
	"sizes": func(_ *Server, b []byte) []byte {
		return protocol.AppendStat(b, "sizes_status", "disabled")
	},
	"conns":   (*Server).appendConnStats,
	"latency": func(s *Server, b []byte) []byte { return s.intro.lat.AppendStats(b) },
	"hotkeys": func(s *Server, b []byte) []byte { return s.intro.hot.AppendStats(b) },
}

// stats serves `stats`, the statGroups, `stats reset` and `stats
// cachedump` (dump.go).
func (c *conn) stats(tokens [][]byte) {
	group := ""
	if len(tokens) > 1 {
		group = string(tokens[1])
	}
	switch group {
	case "reset":
		c.s.resetStats()
		c.write(protocol.RespReset)
		return
	case "cachedump":
		c.cachedump(tokens)
		return
	case "detail":
		c.statsDetail(tokens)
		return
	}
	report, ok := statGroups[group]
	if !ok {
		c.write(protocol.RespError)
		return
	}
	c.scratch = append(report(c.s, c.scratch[:0]), protocol.RespEnd...)
	c.write(c.scratch)
}

// Stat is one line of a stats report.
type Stat struct{ Name, Value string }

// Stats returns the lines `stats GROUP` prints ("" for plain `stats`;
// settings, items, slabs, sizes, conns, latency, hotkeys), in order; false
// for a group there is not.
func (s *Server) Stats(group string) ([]Stat, bool) {
	report, ok := statGroups[group]
	if !ok {
		return nil, false
	}
	var out []Stat
	eachStat(report(s, nil), func(name, value []byte) {
		out = append(out, Stat{string(name), string(value)})
	})
	return out, true
}

// eachStat calls f with the name and value of each STAT line of lines.
func eachStat(lines []byte, f func(name, value []byte)) {
	for len(lines) > 0 {
		var line []byte
		line, lines, _ = bytes.Cut(lines, protocol.RespCRLF)
		name, value, _ := bytes.Cut(bytes.TrimPrefix(line, []byte("STAT ")), []byte(" "))
		f(name, value)
	}
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

// resetStats zeroes the counters `stats reset` resets.
func (s *Server) resetStats() {
	s.stats.totalConns.Store(0)
	s.stats.rejectedConns.Store(0)
	s.stats.cmdFlush.Store(0)
	s.stats.cmdConfigGet.Store(0)
	s.stats.traffic.reset()
	s.stats.listenDisabled.Store(0)
	s.detail.reset()
	s.intro.reset()
	if st := s.store; st != nil {
		st.ResetStats()
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
	var t store.Totals
	if s.store != nil {
		t = s.store.Totals()
	}
	read, written, meta := s.stats.traffic.totals()
	b = stat(b, "cmd_get", t.GetCmds)
	b = stat(b, "cmd_set", t.SetCmds)
	b = stat(b, "cmd_flush", s.stats.cmdFlush.Load())
	b = stat(b, "cmd_touch", t.TouchCmds)
	b = stat(b, "cmd_meta", meta)
	b = stat(b, "cmd_config_get", s.stats.cmdConfigGet.Load())
	b = stat(b, "get_hits", t.GetHits)
	b = stat(b, "get_misses", t.GetMisses)
	b = stat(b, "get_expired", t.GetExpired)
	b = stat(b, "get_flushed", t.GetFlushed)
	b = stat(b, "delete_misses", t.DeleteMisses)
	b = stat(b, "delete_hits", t.DeleteHits)
	b = stat(b, "incr_misses", t.IncrMisses)
	b = stat(b, "incr_hits", t.IncrHits)
	b = stat(b, "decr_misses", t.DecrMisses)
	b = stat(b, "decr_hits", t.DecrHits)
	b = stat(b, "cas_misses", t.CasMisses)
	b = stat(b, "cas_hits", t.CasHits)
	b = stat(b, "cas_badval", t.CasBadval)
	b = stat(b, "touch_hits", t.TouchHits)
	b = stat(b, "touch_misses", t.TouchMisses)
	b = stat(b, "store_too_large", s.stats.storeTooLarge.Load())
	b = stat(b, "store_no_memory", s.stats.storeNoMemory.Load())
	b = stat(b, "auth_cmds", s.auth.cmds.Load())
	b = stat(b, "auth_errors", s.auth.fails.Load())
	b = stat(b, "bytes_read", read)
	b = stat(b, "bytes_written", written)
	b = stat(b, "limit_maxbytes", t.LimitBytes)
	b = stat(b, "listen_disabled_num", s.stats.listenDisabled.Load())
	b = stat(b, "threads", s.cfg.Threads)
	b = stat(b, "bytes", t.Bytes)
	b = stat(b, "curr_items", t.CurrItems)
	b = stat(b, "total_items", t.TotalItems)
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
	b = stat(b, "log_watcher_skipped", s.watch.skipped.Load())
	b = stat(b, "log_watcher_sent", s.watch.sent.Load())
	b = stat(b, "log_watchers", s.watch.count())
	b = s.appendTLSStats(b)
	curr := 0
	if s.clusterConfig() != nil {
		curr = 1
	}
	b = stat(b, "curr_config", curr)
	return b
}

func (s *Server) appendItemStats(b []byte) []byte {
	if s.store == nil {
		return b
	}
	for _, c := range s.store.ClassStats(nil) {
		if c.Items == 0 && c.ClassCounters == (store.ClassCounters{}) {
			continue
		}
		p := "items:" + strconv.Itoa(c.ID) + ":"
		b = stat(b, p+"number", c.Items)
		b = stat(b, p+"age", c.Age)
		b = stat(b, p+"evicted", c.Evicted)
		b = stat(b, p+"evicted_nonzero", c.EvictedNonzero)
		b = stat(b, p+"evicted_time", c.EvictedTime)
		b = stat(b, p+"outofmemory", c.OutOfMemory)
		b = stat(b, p+"reclaimed", c.Reclaimed)
		b = stat(b, p+"expired_unfetched", c.ExpiredUnfetched)
		b = stat(b, p+"evicted_unfetched", c.EvictedUnfetched)
		b = stat(b, p+"crawler_reclaimed", c.CrawlerReclaimed)
	}
	return b
}

func (s *Server) appendSlabStats(b []byte) []byte {
	if s.store == nil {
		return protocol.AppendStat(b, "active_slabs", "0")
	}
	active := 0
	for _, c := range s.store.ClassStats(nil) {
		if c.Pages == 0 {
			continue
		}
		active++
		p := strconv.Itoa(c.ID) + ":"
		b = stat(b, p+"chunk_size", c.ChunkSize)
		b = stat(b, p+"chunks_per_page", c.ChunksPerPage)
		b = stat(b, p+"total_pages", c.Pages)
		b = stat(b, p+"total_chunks", c.Pages*c.ChunksPerPage)
		b = stat(b, p+"used_chunks", c.Items)
		b = stat(b, p+"free_chunks", c.FreeChunks)
		b = stat(b, p+"free_chunks_end", c.FreeChunksEnd)
		b = stat(b, p+"get_hits", c.GetHits)
		b = stat(b, p+"cmd_set", c.CmdSet)
		b = stat(b, p+"delete_hits", c.DeleteHits)
		b = stat(b, p+"incr_hits", c.IncrHits)
		b = stat(b, p+"decr_hits", c.DecrHits)
		b = stat(b, p+"cas_hits", c.CasHits)
		b = stat(b, p+"cas_badval", c.CasBadval)
		b = stat(b, p+"touch_hits", c.TouchHits)
	}
	b = stat(b, "active_slabs", active)
	return stat(b, "total_malloced", s.store.Totals().TotalMalloced)
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
