package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/node"
)

// Settings come from flags, then SHOAL_* variables, then the config file.
func TestNodeConfigSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "shoal.yaml")
	yaml := "memory-limit: 128\nport: 12000\nslab-growth-factor: 1.5\nmax-item-size: 2m\nextended: idle_timeout=5,slab_automove=0,ssl_min_version=3\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHOAL_PORT", "13000")
	t.Setenv("SHOAL_DISABLE_CAS", "true")
	cmd, ns := nodeCommand()
	if err := cmd.ParseFlags([]string{"--config", file, "-m", "256M", "-M", "-o", "slab_automove=2"}); err != nil {
		t.Fatal(err)
	}
	if err := ns.load(); err != nil {
		t.Fatal(err)
	}
	cfg := ns.node
	checks := []struct {
		name      string
		got, want any
	}{
		{"memory limit (flag over file, with memcached's M)", cfg.MemoryLimitMB, 256},
		{"port (environment over file)", cfg.Port, 13000},
		{"growth factor (file)", cfg.GrowthFactor, 1.5},
		{"max item size (file, with suffix)", cfg.MaxItemSize, 2 << 20},
		{"disable CAS (environment)", cfg.DisableCAS, true},
		{"disable evictions (short flag)", cfg.DisableEvictions, true},
		{"listen (default)", strings.Join(cfg.Listen, ","), "127.0.0.1"},
		{"idle timeout (file suboption)", cfg.IdleTimeout, 5 * time.Second},
		{"slab automove (flag suboption over file)", cfg.SlabAutomove, 2},
		{"TLS minimum version (memcached's 3)", cfg.TLS.MinVersion, "tlsv1.3"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseItemSize(t *testing.T) {
	for in, want := range map[string]int{"1024": 1024, "1k": 1 << 10, "1m": 1 << 20, "2M": 2 << 20, "1g": 1 << 30} {
		if got, err := parseItemSize(in); err != nil || got != want {
			t.Errorf("parseItemSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "0", "1t"} {
		if _, err := parseItemSize(in); err == nil {
			t.Errorf("parseItemSize(%q) accepted", in)
		}
	}
}

// -m is megabytes, with the M suffix memcached's atoi lets through; a
// suffix memcached would misread is refused.
func TestParseMegabytes(t *testing.T) {
	for in, want := range map[string]int{"64": 64, "64M": 64, "64m": 64, "1024MB": 1024, "0": 0} {
		if got, err := parseMegabytes(in); err != nil || got != want {
			t.Errorf("parseMegabytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"1g":  `-m takes megabytes: memcached 1.6 reads only the number in front, so it would take "1g" as 1 MB; for a gigabyte write 1024`,
		"64k": `-m takes megabytes: memcached 1.6 reads only the number in front, so it would take "64k" as 64 MB; for a gigabyte write 1024`,
		"x":   `-m takes megabytes: memcached 1.6 reads only the number in front, so it would take "x" as 0 MB; for a gigabyte write 1024`,
	} {
		if _, err := parseMegabytes(in); err == nil || err.Error() != want {
			t.Errorf("parseMegabytes(%q): %v, want %s", in, err, want)
		}
	}
}

// A node told it was dropped from the list empties its cache.
func TestFlushOnDrop(t *testing.T) {
	cfg := node.DefaultConfig()
	cfg.Port, cfg.MemoryLimitMB = 0, 8
	srv, err := node.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
	}()
	mc := memcache.New(srv.Addr().String())
	mc.Timeout = 5 * time.Second
	defer mc.Close()
	if err := mc.Set(&memcache.Item{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	flushOnDrop(srv, zap.NewNop())()
	if it, err := mc.Get("k"); err != memcache.ErrCacheMiss {
		t.Fatalf("get after the flush: %+v, %v; want a miss", it, err)
	}
}
