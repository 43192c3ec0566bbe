package bench

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseRatio(t *testing.T) {
	for _, c := range []struct {
		in       string
		set, get int
		ok       bool
	}{
		{"1:9", 1, 9, true},
		{"0:1", 0, 1, true},
		{"5:0", 5, 0, true},
		{"0:0", 0, 0, false},
		{"1", 0, 0, false},
		{"-1:2", 0, 0, false},
		{"a:b", 0, 0, false},
	} {
		set, get, err := ParseRatio(c.in)
		if (err == nil) != c.ok || set != c.set || get != c.get {
			t.Errorf("ParseRatio(%q) = %d, %d, %v", c.in, set, get, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"100", 100, 100, true},
		{"100-4096", 100, 4096, true},
		{"4096-100", 0, 0, false},
		{"0", 0, 0, false},
		{"x", 0, 0, false},
		{"1-", 0, 0, false},
	} {
		lo, hi, err := ParseSize(c.in)
		if (err == nil) != c.ok || lo != c.lo || hi != c.hi {
			t.Errorf("ParseSize(%q) = %d, %d, %v", c.in, lo, hi, err)
		}
	}
}

func TestParseServers(t *testing.T) {
	got, err := ParseServers(" 127.0.0.1:1, 127.0.0.2:2,")
	if err != nil || strings.Join(got, "|") != "127.0.0.1:1|127.0.0.2:2" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", ",", "127.0.0.1", "a:1,b"} {
		if _, err := ParseServers(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseServers(%q): %v, want ErrConfig", bad, err)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Config)
		want   string // part of the error; "" for none
	}{
		{"defaults", func(*Config) {}, ""},
		{"no servers", func(c *Config) { c.Servers = nil }, "no servers"},
		{"protocol", func(c *Config) { c.Protocol = "ascii" }, "protocol"},
		{"connections", func(c *Config) { c.Connections = 0 }, "connections"},
		{"pipeline", func(c *Config) { c.Pipeline = MaxPipeline + 1 }, "pipeline"},
		{"ratio", func(c *Config) { c.SetRatio, c.GetRatio = 0, 0 }, "ratio"},
		{"multi-get", func(c *Config) { c.MultiGet = 0 }, "multi-get"},
		{"key space", func(c *Config) { c.Keys = 0 }, "key space"},
		{"distribution", func(c *Config) { c.Dist = "normal" }, "distribution"},
		{"skew", func(c *Config) { c.Dist, c.ZipfSkew = Zipfian, 0 }, "skew"},
		{"value range", func(c *Config) { c.ValueMin, c.ValueMax = 10, 5 }, "value size"},
		{"value too big", func(c *Config) { c.ValueMax = MaxValueSize + 1 }, "value size"},
		{"unbounded", func(c *Config) { c.Duration, c.Requests = 0, 0 }, "duration"},
		{"count only", func(c *Config) { c.Duration, c.Requests = 0, 10 }, ""},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
		{"long keys", func(c *Config) { c.KeyPrefix = strings.Repeat("k", 250) }, "keys of"},
		{"space in prefix", func(c *Config) { c.KeyPrefix = "a b" }, "prefix"},
		{"verify small values", func(c *Config) { c.Verify, c.ValueMin = true, 12 }, "--verify"},
		{"verify", func(c *Config) { c.Verify = true }, ""},
	} {
		cfg := DefaultConfig()
		cfg.Duration = time.Second
		c.change(&cfg)
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want ErrConfig about %q", c.name, err, c.want)
		}
	}
}
