package node

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"runtime"
	"time"

	"github.com/shoal-cache/shoal/node/internal/store"
	"go.uber.org/zap"
)

// Config is a node's settings, named after memcached's flags.
type Config struct {
	// Listen are the addresses to listen on (-l, which memcached lets
	// repeat or take a comma list): HOST, HOST:PORT, [IPV6]:PORT, [IPV6]
	// or a bare IPv6 address, at Port unless the entry names its own.
	Listen     []string
	Port       int         // -p: TCP port
	UnixSocket string      // -s: listen on this UNIX socket instead of TCP
	UnixMask   fs.FileMode // -a: access mode of the UNIX socket
	// Protocol is -B: "auto" tells text from binary by a connection's first
	// byte; "ascii" and "binary" serve only that one.
	Protocol         string
	MemoryLimitMB    int     // -m: item memory in megabytes
	ConnLimit        int     // -c: simultaneous connections
	Threads          int     // -t: cores to serve on (GOMAXPROCS)
	MaxItemSize      int     // -I: largest item in bytes
	GrowthFactor     float64 // -f: factor between the classes stats count items in (store.Config)
	MinChunk         int     // -n: key+value bytes of the smallest of those classes
	DisableCAS       bool    // -C
	DisableEvictions bool    // -M
	EnableShutdown   bool    // -A: allow the shutdown command
	Verbosity        int     // -v, -vv
	AuthFile         string  // -Y: user:password file; ASCII authentication when set
	SASL             bool    // -S: SASL PLAIN on the binary protocol, which alone is spoken
	SASLFile         string  // user:password file for SASL (memcached's MEMCACHED_SASL_PWDB)
	// DisabledCommands are administrative commands refused to every client
	// (-F is flush_all); see AdminCommands.
	DisabledCommands []string
	TLS              TLSConfig // -Z and -o ssl_*
	// Allow, when not empty, is the networks clients may connect from
	// (--allow); others are closed at once.
	Allow          []netip.Prefix
	DisableDumping bool // -X: refuse stats cachedump and lru_crawler metadump
	// IdleTimeout closes a connection that waits this long for a command
	// (-o idle_timeout); 0 never.
	IdleTimeout time.Duration
	// SlabAutomove is -o slab_automove, with SlabAutomoveRatio and
	// SlabAutomoveWindow: checked and reported as memcached's, but segments
	// hold items of every size, so no page ever needs to move (see
	// store.Config).
	SlabAutomove       int
	SlabAutomoveRatio  float64
	SlabAutomoveWindow int
	NoSlabReassign     bool // -o no_slab_reassign: slabs reassign answers that it is disabled
	NoLRUCrawler       bool // -o no_lru_crawler: no background crawler, no metadump
	DisableWatch       bool // -W: refuse watch
	// PrefixDelimiter ends a key's prefix for stats detail (-D, which also
	// turns detail on: Detail).
	PrefixDelimiter byte
	Detail          bool
	// LogLevel, when set, is the level of the log the server writes to:
	// `verbosity N` moves it (0 info, 1 and up debug), as memcached's
	// verbosity changes what it prints.
	LogLevel *zap.AtomicLevel
	// NoStorage makes a configuration endpoint: the server answers
	// discovery, version, stats and the like, and stores nothing.
	NoStorage bool
	// HotKeySample is one in how many reads and writes feed `stats
	// hotkeys` (rounded up to a power of two; 0: 64, 1: every one).
	HotKeySample int
	// NoIntrospection records neither latencies nor hot keys (`stats
	// latency` and `stats hotkeys` answer nothing): what they cost is
	// measured against it.
	NoIntrospection bool
}

// DefaultConfig is memcached's defaults, listening on loopback only.
func DefaultConfig() Config {
	return Config{
		Listen:             []string{"127.0.0.1"},
		Port:               11211,
		UnixMask:           0o700,
		PrefixDelimiter:    ':',
		Protocol:           "auto",
		SlabAutomove:       1,
		SlabAutomoveRatio:  store.DefaultAutomoveRatio,
		SlabAutomoveWindow: store.DefaultAutomoveWindow,
		MemoryLimitMB:      64,
		ConnLimit:          1024,
		Threads:            runtime.NumCPU(),
		MaxItemSize:        1 << 20,
		GrowthFactor:       1.25,
		MinChunk:           48,
		TLS:                TLSConfig{SessionCache: true},
	}
}

// Validate reports settings memcached would refuse to start with, in
// memcached's words where it has some.
func (c Config) Validate() error {
	for _, check := range []func() error{c.validateServer, c.validateStore, c.validateListen} {
		if err := check(); err != nil {
			return err
		}
	}
	return validateDisabled(c.DisabledCommands)
}

// validateServer checks how the node serves connections.
func (c Config) validateServer() error {
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("invalid port number %d", c.Port)
	case c.UnixMask&^fs.ModePerm != 0:
		return fmt.Errorf("UNIX socket mask %o is not an access mode", c.UnixMask)
	case c.ConnLimit < 1:
		return errors.New("maximum connections must be greater than 0")
	case c.Threads < 1:
		return errors.New("number of threads must be greater than 0")
	case c.Protocol != "auto" && c.Protocol != "ascii" && c.Protocol != "binary":
		return fmt.Errorf("invalid value for binding protocol: %s -- should be one of auto, binary, or ascii", c.Protocol)
	case c.AuthFile != "" && c.Protocol == "binary":
		return errors.New("you cannot allow the BINARY protocol while using ascii authentication tokens")
	case c.SASL && c.Protocol == "ascii":
		return errors.New("You cannot allow the ASCII protocol while using SASL.") // memcached's words
	case c.IdleTimeout < 0:
		return fmt.Errorf("idle timeout %v is negative", c.IdleTimeout)
	case c.TLS.Enable && c.TLS.CertFile == "":
		return errors.New("TLS (-Z) needs a certificate: -o ssl_chain_cert=FILE")
	}
	return nil
}

// validateStore checks the storage settings.
func (c Config) validateStore() error {
	switch {
	case c.MemoryLimitMB < 1:
		return fmt.Errorf("memory limit %d MB must be at least 1", c.MemoryLimitMB)
	case c.MaxItemSize < 1024:
		return errors.New("item max size cannot be less than 1024 bytes")
	case c.MaxItemSize > 1<<30:
		return errors.New("cannot set item size limit higher than a gigabyte")
	case !c.NoStorage && int64(c.MaxItemSize) > int64(c.MemoryLimitMB)<<20/2:
		return errors.New("cannot set item size limit higher than 1/2 of memory max")
	case c.GrowthFactor <= 1:
		return errors.New("factor must be greater than 1")
	case c.MinChunk < 1:
		return errors.New("chunk size must be greater than 0")
	case c.SlabAutomove < 0 || c.SlabAutomove > 2:
		return errors.New("slab_automove must be between 0 and 2")
	case !(c.SlabAutomoveRatio > 0 && c.SlabAutomoveRatio <= 1):
		return errors.New("slab_automove_ratio must be > 0 and < 1")
	case c.SlabAutomoveWindow < 3:
		return errors.New("slab_automove_window must be > 2")
	}
	return nil
}

func (c Config) storeConfig() store.Config {
	return store.Config{
		MemoryLimit:      int64(c.MemoryLimitMB) << 20,
		MaxItemSize:      c.MaxItemSize,
		GrowthFactor:     c.GrowthFactor,
		MinChunk:         c.MinChunk,
		DisableCAS:       c.DisableCAS,
		DisableEvictions: c.DisableEvictions,
		NoPageMoves:      c.NoSlabReassign,
		Automove:         store.AutomoveMode(c.SlabAutomove),
		AutomoveRatio:    c.SlabAutomoveRatio,
		AutomoveWindow:   c.SlabAutomoveWindow,
		NoCrawler:        c.NoLRUCrawler,
	}
}
