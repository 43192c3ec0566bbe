package bench

import (
	"errors"
	"fmt"
	"github.com/shoal-cache/shoal/internal/connect"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Protocol is the wire protocol the generator speaks.
type Protocol string

// The protocols a run can speak.
const (
	Text   Protocol = "text"
	Meta   Protocol = "meta"
	Binary Protocol = "binary"
)

// Distribution is how keys are drawn from the key space.
type Distribution string

// The key distributions.
const (
	Uniform Distribution = "uniform"
	Zipfian Distribution = "zipfian"
)

// Limits a configuration must keep within. They bound what one worker
// allocates and what a batch may leave unread on a socket.
const (
	MaxConnections = 10000
	MaxPipeline    = 1024
	MaxMultiGet    = 100
	MaxValueSize   = 1 << 20 // memcached's default item size limit
	maxKeyLen      = 250
)

// Config describes one run: where to send load and what load to send.
type Config struct {
	Servers     []string      // host:port of each server
	Protocol    Protocol      // text, meta or binary
	Connections int           // workers; each holds one connection per server
	Pipeline    int           // requests written before their replies are read
	SetRatio    int           // sets in SetRatio:GetRatio
	GetRatio    int           // gets in SetRatio:GetRatio
	MultiGet    int           // keys asked for by one get
	Keys        uint64        // size of the key space
	KeyPrefix   string        // keys are KeyPrefix followed by a decimal index
	Dist        Distribution  // how keys are drawn
	ZipfSkew    float64       // exponent of the zipfian distribution (> 0)
	ValueMin    int           // value size, in bytes; drawn uniformly in
	ValueMax    int           // [ValueMin, ValueMax]
	Duration    time.Duration // how long to send load; 0: no time bound
	Requests    int64         // how many requests to send; 0: no count bound
	Warmup      bool          // set every key once before measuring
	Verify      bool          // frame values and check every value read
	Timeout     time.Duration // bound on one batch's writes and reads
	Seed        uint64        // seed of the key, op and value choices
	Progress    io.Writer     // where a progress line is drawn; nil: none
	// Connect says how connections are made: TLS, ASCII authentication.
	Connect connect.Options
}

// DefaultConfig is a modest load on one local memcached.
func DefaultConfig() Config {
	return Config{
		Servers:     []string{"127.0.0.1:11211"},
		Protocol:    Text,
		Connections: 4,
		Pipeline:    1,
		SetRatio:    1,
		GetRatio:    9,
		MultiGet:    1,
		Keys:        100000,
		KeyPrefix:   "key:",
		Dist:        Uniform,
		ZipfSkew:    0.99,
		ValueMin:    100,
		ValueMax:    100,
		Duration:    10 * time.Second,
		Warmup:      true,
		Timeout:     5 * time.Second,
		Seed:        1,
	}
}

// ErrConfig reports a configuration that cannot be run.
var ErrConfig = errors.New("bench: bad configuration")

// Validate reports the first thing wrong with c, wrapping ErrConfig.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch {
	case len(c.Servers) == 0:
		return bad("no servers")
	case c.Protocol != Text && c.Protocol != Meta && c.Protocol != Binary:
		return bad("protocol %q (want text, meta or binary)", c.Protocol)
	case c.Connections < 1 || c.Connections > MaxConnections:
		return bad("connections %d (want 1..%d)", c.Connections, MaxConnections)
	case c.Pipeline < 1 || c.Pipeline > MaxPipeline:
		return bad("pipeline %d (want 1..%d)", c.Pipeline, MaxPipeline)
	case c.SetRatio < 0 || c.GetRatio < 0 || c.SetRatio+c.GetRatio == 0:
		return bad("set:get ratio %d:%d", c.SetRatio, c.GetRatio)
	case c.MultiGet < 1 || c.MultiGet > MaxMultiGet:
		return bad("multi-get %d (want 1..%d)", c.MultiGet, MaxMultiGet)
	case c.Keys < 1 || c.Keys > 1<<48:
		return bad("key space %d (want 1..2^48)", c.Keys)
	case c.Dist != Uniform && c.Dist != Zipfian:
		return bad("key distribution %q (want uniform or zipfian)", c.Dist)
	case c.Dist == Zipfian && !(c.ZipfSkew > 0 && c.ZipfSkew <= 10):
		return bad("zipfian skew %v (want > 0 and <= 10)", c.ZipfSkew)
	case c.ValueMin < 1 || c.ValueMax < c.ValueMin || c.ValueMax > MaxValueSize:
		return bad("value size %d-%d (want 1..%d)", c.ValueMin, c.ValueMax, MaxValueSize)
	case c.Duration < 0 || c.Requests < 0 || (c.Duration == 0 && c.Requests == 0):
		return bad("a run needs a duration or a request count")
	case c.Timeout <= 0:
		return bad("timeout %v", c.Timeout)
	}
	if n := len(c.KeyPrefix) + len(strconv.FormatUint(c.Keys-1, 10)); n > maxKeyLen {
		return bad("keys of %d bytes (memcached takes %d)", n, maxKeyLen)
	}
	if strings.ContainsFunc(c.KeyPrefix, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return bad("key prefix %q has spaces or control characters", c.KeyPrefix)
	}
	if c.Verify && c.ValueMin < c.minFramed() {
		return bad("--verify needs values of at least %d bytes (key and checksum)", c.minFramed())
	}
	return nil
}

// maxKey is the length of the longest key of the key space.
func (c *Config) maxKey() int {
	return len(c.KeyPrefix) + len(strconv.FormatUint(c.Keys-1, 10))
}

// minFramed is the smallest value that can carry the longest key framed.
func (c *Config) minFramed() int { return frameOverhead + c.maxKey() }

// ParseRatio parses a set:get ratio such as "1:9".
func ParseRatio(s string) (set, get int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if ok {
		set, err = strconv.Atoi(a)
		if err == nil {
			get, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || set < 0 || get < 0 || set+get == 0 {
		return 0, 0, fmt.Errorf("%w: ratio %q (want set:get, such as 1:9)", ErrConfig, s)
	}
	return set, get, nil
}

// ParseSize parses a value size: "100" or a range "100-4096".
func ParseSize(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err = strconv.Atoi(a)
	hi = lo
	if err == nil && isRange {
		hi, err = strconv.Atoi(b)
	}
	if err != nil || lo < 1 || hi < lo {
		return 0, 0, fmt.Errorf("%w: value size %q (want N or MIN-MAX)", ErrConfig, s)
	}
	return lo, hi, nil
}

// ParseServers splits a comma-separated list of host:port.
func ParseServers(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(f); err != nil {
			return nil, fmt.Errorf("%w: server %q: %v", ErrConfig, f, err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no servers in %q", ErrConfig, s)
	}
	return out, nil
}
