package node

import (
	"fmt"
	"runtime"
)

// Config is a node's settings, named after memcached's flags.
type Config struct {
	Listen           string  // -l: address to listen on
	Port             int     // -p: TCP port
	MemoryLimitMB    int     // -m: item memory in megabytes
	ConnLimit        int     // -c: simultaneous connections
	Threads          int     // -t: cores to serve on (GOMAXPROCS)
	MaxItemSize      int     // -I: largest item in bytes
	GrowthFactor     float64 // -f: chunk size factor
	MinChunk         int     // -n: key+value bytes of the smallest chunk class
	DisableCAS       bool    // -C
	DisableEvictions bool    // -M
	EnableShutdown   bool    // -A: allow the shutdown command
	Verbosity        int     // -v, -vv
	AuthFile         string  // -Y: user:password file; ASCII authentication when set
	// DisabledCommands are administrative commands refused to every client
	// (-F is flush_all); see AdminCommands.
	DisabledCommands []string
	TLS              TLSConfig // -Z and -o ssl_*
	// NoStorage makes a configuration endpoint: the server answers
	// discovery, version, stats and the like, and stores nothing.
	NoStorage bool
}

// DefaultConfig is memcached's defaults, listening on loopback only.
func DefaultConfig() Config {
	return Config{
		Listen:        "127.0.0.1",
		Port:          11211,
		MemoryLimitMB: 64,
		ConnLimit:     1024,
		Threads:       runtime.NumCPU(),
		MaxItemSize:   1 << 20,
		GrowthFactor:  1.25,
		MinChunk:      48,
	}
}

// Validate reports settings memcached would refuse to start with.
func (c Config) Validate() error {
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("port %d out of range", c.Port)
	case c.MemoryLimitMB < 1:
		return fmt.Errorf("memory limit %d MB must be at least 1", c.MemoryLimitMB)
	case c.ConnLimit < 1:
		return fmt.Errorf("connection limit %d must be at least 1", c.ConnLimit)
	case c.Threads < 1:
		return fmt.Errorf("threads %d must be at least 1", c.Threads)
	case c.MaxItemSize < 1024:
		return fmt.Errorf("item max size %d cannot be less than 1024 bytes", c.MaxItemSize)
	case c.MaxItemSize > 1<<30:
		return fmt.Errorf("item max size %d cannot be larger than 1 GB", c.MaxItemSize)
	case c.GrowthFactor <= 1:
		return fmt.Errorf("factor %v must be greater than 1", c.GrowthFactor)
	case c.MinChunk < 1:
		return fmt.Errorf("chunk size %d must be positive", c.MinChunk)
	}
	return validateDisabled(c.DisabledCommands)
}

func (c Config) storeConfig() StoreConfig {
	return StoreConfig{
		MemoryLimit:      int64(c.MemoryLimitMB) << 20,
		MaxItemSize:      c.MaxItemSize,
		GrowthFactor:     c.GrowthFactor,
		MinChunk:         c.MinChunk,
		DisableCAS:       c.DisableCAS,
		DisableEvictions: c.DisableEvictions,
	}
}
