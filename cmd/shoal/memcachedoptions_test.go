package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoal-cache/shoal/internal/testproc"
)

// rootWarning is what a node started as root without -u warns.
const rootWarning = "running as root: memcached refuses to without -u USER; give -u to drop root"

// Every memcached option is accepted: those with a meaning for shoal take
// it, the others warn once at startup, saying why.
func TestMemcachedOptionsAccepted(t *testing.T) {
	p := testproc.StartShoal(t, "node",
		"-k", "-L", "-r", "-R", "20", "-b", "512", "-D", "/", "-e", "/dev/shm/memory", "-N", "1", "-W", "-X", "-F",
		"-A", "-C", "-B", "ascii", "-U", "0", "-t", "2", "-c", "100", "-I", "2m", "-m", "64M", "-f", "1.5", "-n", "64",
		"-M", "-k", "-l", "127.0.0.2", "-a", "755",
		"-o", "maxconns_fast,modern,hashpower=20,idle_timeout=7,slab_automove=0,slab_automove_window=10",
		"-o", "slab_automove_ratio=0.5,no_lru_crawler,lru_crawler_sleep=50,ext_path=/mnt/x:1G,no_slab_reassign")
	want := map[string]string{
		"maxconns": "100", "item_size_max": "2097152", "maxbytes": "67108864", "growth_factor": "1.50",
		"chunk_size": "64", "cas_enabled": "no", "evictions": "off", "binding_protocol": "ascii",
		"flush_enabled": "no", "dump_enabled": "no", "shutdown_command": "yes", "idle_timeout": "7",
		"slab_automove": "0", "slab_automove_window": "10", "slab_automove_ratio": "0.50", "lru_crawler": "no",
		"slab_reassign": "no", "num_threads": "2", "udpport": "0", "inter": "127.0.0.2,127.0.0.1",
		"stat_key_prefix": "/", "detail_enabled": "yes",
	}
	got := statsOf(t, p.Addr, "settings")
	for k, v := range want {
		if got[k] != v {
			t.Errorf("stats settings %s = %q, want %q", k, got[k], v)
		}
	}
	_, port, _ := strings.Cut(p.Addr, ":")
	if s := statsOf(t, "127.0.0.2:"+port, ""); s["pid"] != statsOf(t, p.Addr, "")["pid"] {
		t.Errorf("127.0.0.2:%s is not the same node", port)
	}
	wantWarnings := []string{
		"-k (--lock-memory) is ignored: mlockall would fault in all the address space reserved for the arena to grow into (-m, cache_memlimit)",
		"-L (--enable-largepages) is ignored: the item arena is one anonymous mapping; the kernel's transparent huge pages apply to it",
		"-R (--max-reqs-per-event) is ignored: shoal serves every request a read brings and batches the replies; nothing starves",
		"-b (--listen-backlog) is ignored: Go listens with the system's backlog (net.core.somaxconn)",
		"-e (--memory-file) is ignored: items live in anonymous memory; a restarted node starts empty",
		"-N (--napi-ids) is ignored: connections are not spread over threads by NAPI id",
		"-o hashpower is ignored: the index is 64 shards of tables that grow by themselves, hashed with Go's maphash",
		"-o lru_crawler_sleep is ignored: the crawler checks a fixed 20,000 items a second",
		"-o ext_path is ignored: there is no external storage (extstore): items live in memory",
	}
	if os.Geteuid() == 0 {
		wantWarnings = append(wantWarnings, rootWarning)
	}
	if w := warnings(p.Output()); !slices.Equal(w, wantWarnings) {
		t.Errorf("warnings:\n  %s\nwant:\n  %s", strings.Join(w, "\n  "), strings.Join(wantWarnings, "\n  "))
	}
}

// What shoal cannot do is refused, saying why, and so are mistakes, as
// memcached refuses them.
func TestMemcachedOptionsRefused(t *testing.T) {
	yaml := filepath.Join(t.TempDir(), "shoal.yaml")
	if err := os.WriteFile(yaml, []byte("memory-limt: 64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-U", "11211"}, `invalid argument "11211" for "-U, --udp-port" flag: UDP is off for good in shoal: memcached's UDP port served the 2018 DDoS amplification attacks (memcached 1.5.6 turned it off by default); shoal serves TCP only, so -U takes only 0`},
		{[]string{"-S"}, `SASL (-S) needs its user:password file (MEMCACHED_SASL_PWDB, or --sasl-pwdb)`},
		{[]string{"-S", "-B", "ascii"}, `You cannot allow the ASCII protocol while using SASL.`},
		{[]string{"-Y", "/etc/shoal-users", "-S"}, `ASCII authentication (-Y) and SASL (-S) exclude each other: one speaks only text, the other only binary`},
		{[]string{"-Z"}, `TLS (-Z) needs a certificate: -o ssl_chain_cert=FILE`},
		{[]string{"--allow", "10.0.0.0/33"}, `invalid argument "10.0.0.0/33" for "--allow" flag: --allow "10.0.0.0/33": not a network (CIDR) or an address`},
		{[]string{"--disable-commands", "get"}, `cannot disable "get": the administrative commands are flush_all, cache_memlimit, shutdown, verbosity, refresh_certs, slabs`},
		{[]string{"-l", "notls:127.0.0.1:11300"}, `'notls' option is valid only when SSL is enabled`},
		{[]string{"-o", "proxy_config=/etc/proxy.lua"}, `invalid argument "proxy_config=/etc/proxy.lua" for "-o, --extended" flag: -o proxy_config=/etc/proxy.lua: memcached's proxy mode is not in shoal: nodes are caches, and clients find them through the configuration endpoint`},
		{[]string{"-m", "1g"}, `invalid argument "1g" for "-m, --memory-limit" flag: -m takes megabytes: memcached 1.6 reads only the number in front, so it would take "1g" as 1 MB; for a gigabyte write 1024`},
		{[]string{"-o", "idle_timout=5"}, `invalid argument "idle_timout=5" for "-o, --extended" flag: unknown -o suboption "idle_timout" (nearest known: "idle_timeout")`},
		{[]string{"-o", "ssl_verify_mode=4"}, `invalid argument "ssl_verify_mode=4" for "-o, --extended" flag: -o ssl_verify_mode=4: invalid ssl_verify_mode: 0 (none), 1 (request), 2 (require) or 3 (once)`},
		{[]string{"-m", "1", "-I", "1m"}, `cannot set item size limit higher than 1/2 of memory max`},
		{[]string{"-B", "text"}, `invalid value for binding protocol: text -- should be one of auto, binary, or ascii`},
		{[]string{"-Y", "/etc/shoal-users", "-B", "binary"}, `you cannot allow the BINARY protocol while using ascii authentication tokens`},
		{[]string{"-c", "0"}, `maximum connections must be greater than 0`},
		{[]string{"-R", "0"}, `invalid argument "0" for "-R, --max-reqs-per-event" flag: Number of requests per event must be greater than 0`},
		{[]string{"-Q"}, `unknown shorthand flag: 'Q' in -Q`},
		{[]string{"--config", yaml}, `config file ` + yaml + `: unknown key "memory-limt" (nearest known: "memory-limit")`},
	} {
		p := testproc.Start(t, "shoal", testproc.ShoalBinary(t), append([]string{"node"}, tt.args...)...)
		err := p.Wait(t, 10*time.Second)
		if got, want := p.Output(), "shoal: "+tt.want+"\n"; err == nil || got != want {
			t.Errorf("shoal node %s: %v\n got %q\nwant %q", strings.Join(tt.args, " "), err, got, want)
		}
	}
}
