package status

import (
	"bufio"
	"context"
	"strconv"
	"time"

	"github.com/shoal-cache/shoal/internal/connect"
	"github.com/shoal-cache/shoal/protocol"
)

// Row is one node of a Snapshot. Err is why its stats could not be read;
// the other counters are then zero.
type Row struct {
	Position    int     `json:"position"`
	State       string  `json:"state"`
	Addr        string  `json:"addr"`
	Items       int64   `json:"items"`
	Bytes       int64   `json:"bytes"`
	LimitBytes  int64   `json:"limit_bytes"`
	HitRatio    float64 `json:"hit_ratio"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	Connections int64   `json:"connections"`
	Evictions   int64   `json:"evictions"`
	P99us       float64 `json:"p99_us"` // -1 when the node does not say
	Err         string  `json:"error,omitempty"`

	ops uint64 // commands counted so far, for the next snapshot's rate
}

// Snapshot is the cluster at one moment.
type Snapshot struct {
	Version uint64    `json:"version"`
	Taken   time.Time `json:"taken"`
	Nodes   []Row     `json:"nodes"`
}

// Gather reads the cluster from endpoint. With prev, a snapshot taken
// before, each node's request rate is the count between the two.
func Gather(ctx context.Context, endpoint string, opts connect.Options, prev *Snapshot) (Snapshot, error) {
	var cfg protocol.ClusterConfig
	err := exchange(ctx, endpoint, opts, func(rw *bufio.ReadWriter) (err error) {
		cfg, err = protocol.FetchClusterConfig(rw, protocol.ShoalConfigRequest, protocol.ClusterConfigRequest)
		return err
	})
	if err != nil {
		return Snapshot{}, err
	}
	nodes := make([]Row, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		nodes[i] = Row{Position: n.Position, State: string(n.State), Addr: n.Addr()}
	}
	return Read(ctx, cfg.Version, nodes, opts, prev), nil
}

// Read fills in the counters of nodes (their position, state and address
// given) from each node with an address, and returns them as a snapshot of
// list version.
func Read(ctx context.Context, version uint64, nodes []Row, opts connect.Options, prev *Snapshot) Snapshot {
	s := Snapshot{Version: version, Taken: time.Now()}
	for _, r := range nodes {
		r.P99us = -1
		if r.Addr == "" {
			s.Nodes = append(s.Nodes, r)
			continue
		}
		if err := readNode(ctx, &r, opts); err != nil {
			r.Err = err.Error()
		}
		if p := prev.row(r.Addr); p != nil && r.Err == "" && r.ops >= p.ops {
			if dt := s.Taken.Sub(prev.Taken).Seconds(); dt > 0 {
				r.OpsPerSec = float64(r.ops-p.ops) / dt
			}
		}
		s.Nodes = append(s.Nodes, r)
	}
	return s
}

func (s *Snapshot) row(addr string) *Row {
	if s == nil {
		return nil
	}
	for i := range s.Nodes {
		if s.Nodes[i].Addr == addr {
			return &s.Nodes[i]
		}
	}
	return nil
}

// readNode fills r from the node's stats and stats latency.
func readNode(ctx context.Context, r *Row, opts connect.Options) error {
	return exchange(ctx, r.Addr, opts, func(rw *bufio.ReadWriter) error {
		st, err := protocol.RequestStats(rw, "")
		if err != nil {
			return err
		}
		m := st.Map()
		num := func(k string) int64 { v, _ := strconv.ParseInt(m[k], 10, 64); return v }
		r.Items, r.Bytes, r.LimitBytes = num("curr_items"), num("bytes"), num("limit_maxbytes")
		r.Connections, r.Evictions = num("curr_connections"), num("evictions")
		if hits, misses := num("get_hits"), num("get_misses"); hits+misses > 0 {
			r.HitRatio = float64(hits) / float64(hits+misses)
		}
		r.ops = uint64(num("cmd_get") + num("cmd_set") + num("cmd_touch") + num("cmd_meta") +
			num("delete_hits") + num("delete_misses") + num("incr_hits") + num("incr_misses") +
			num("decr_hits") + num("decr_misses"))
		lat, err := protocol.RequestStats(rw, "latency")
		if err != nil {
			return nil // an older node, or memcached: no latency
		}
		if v, ok := lat.Lookup("all:p99_us"); ok {
			r.P99us, _ = strconv.ParseFloat(v, 64)
		}
		return nil
	})
}

// exchange runs f on a connection to addr, within ctx and 2 seconds.
func exchange(ctx context.Context, addr string, opts connect.Options, f func(*bufio.ReadWriter) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	nc, err := connect.Dial(ctx, opts, "tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	return f(bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc)))
}
