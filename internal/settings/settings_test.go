package settings

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// testConfig is what the test options fill.
type testConfig struct {
	Port    int
	Listen  []string
	Memory  int
	Verbose int
	Daemon  bool
	LogFile string
	Ext     map[string]string
}

// newTestSet declares options the way the commands do, bound to c.
func newTestSet(c *testConfig) *Set {
	f := pflag.NewFlagSet("test", pflag.ContinueOnError)
	s := New(f)
	f.IntVarP(&c.Port, "port", "p", 11211, "")
	f.StringSliceVarP(&c.Listen, "listen", "l", []string{"127.0.0.1"}, "")
	f.IntVarP(&c.Memory, "memory-limit", "m", 64, "")
	f.CountVarP(&c.Verbose, "verbose", "v", "")
	f.BoolVarP(&c.Daemon, "daemon", "d", false, "")
	f.StringVar(&c.LogFile, "logfile", "", "")
	s.Ignored("lock-memory", "k", false, nil, "", "not here")
	c.Ext = map[string]string{}
	ext := s.Extended("extended", "o", "")
	for _, k := range []string{"a", "b"} {
		ext.Option(k, func(v string) error { c.Ext[k] = v; return nil })
	}
	ext.Ignored("hashpower", "the index grows by itself")
	return s
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// load parses args as the command line, then loads the other sources.
func load(t *testing.T, args ...string) (testConfig, *Set, error) {
	t.Helper()
	var c testConfig
	s := newTestSet(&c)
	if err := s.Flags.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	err := s.Load()
	return c, s, err
}

// Each option takes its value from the highest source that sets it: the
// command line, then the environment, then the file; a list from one
// source replaces another's, and accumulates within a source.
func TestLayering(t *testing.T) {
	file := writeFile(t, "shoal.conf", "-p 1000\n-m 100\n-l 10.0.0.1\n-l 10.0.0.2\n-vv\nlogfile /tmp/x.log\n")
	t.Setenv("SHOAL_MEMORY_LIMIT", "200")
	t.Setenv("SHOAL_LISTEN", "10.0.0.3,10.0.0.4")
	c, s, err := load(t, "--config", file, "-p", "2000")
	if err != nil {
		t.Fatal(err)
	}
	want := testConfig{Port: 2000, Memory: 200, Listen: []string{"10.0.0.3", "10.0.0.4"}, Verbose: 2, LogFile: "/tmp/x.log", Ext: map[string]string{}}
	if !equalConfig(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	for name, from := range map[string]string{"port": FromCommandLine, "memory-limit": FromEnvironment, "verbose": FromFile, "daemon": ""} {
		if got := s.Source(name); got != from {
			t.Errorf("source of %s: %q, want %q", name, got, from)
		}
	}
}

func equalConfig(a, b testConfig) bool {
	return a.Port == b.Port && a.Memory == b.Memory && slices.Equal(a.Listen, b.Listen) &&
		a.Verbose == b.Verbose && a.Daemon == b.Daemon && a.LogFile == b.LogFile &&
		len(a.Ext) == len(b.Ext) && func() bool {
		for k, v := range a.Ext {
			if b.Ext[k] != v {
				return false
			}
		}
		return true
	}()
}

// A memcached-style file takes options as a command line does: attached
// values, clusters of switches, long forms, comments.
func TestMemcachedStyleWords(t *testing.T) {
	file := writeFile(t, "memcached.conf", strings.Join([]string{
		"# a comment",
		"-dv   # switches, then a comment",
		"-m64",
		"--port=3000",
		"--listen 10.0.0.9",
		"   ",
		"-o a=1,b=2 -v",
	}, "\n"))
	c, _, err := load(t, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	want := testConfig{Port: 3000, Memory: 64, Listen: []string{"10.0.0.9"}, Verbose: 2, Daemon: true, Ext: map[string]string{"a": "1", "b": "2"}}
	if !equalConfig(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

// The structured forms take the long names as keys, and lists for lists.
func TestStructuredFiles(t *testing.T) {
	for name, text := range map[string]string{
		"s.yaml": "port: 3000\nmemory-limit: 64\nlisten: [10.0.0.9, 10.0.0.8]\nverbose: 2\ndaemon: true\nextended: a=1,b=2\n",
		"s.toml": "port = 3000\nmemory-limit = 64\nlisten = [\"10.0.0.9\", \"10.0.0.8\"]\nverbose = 2\ndaemon = true\nextended = [\"a=1\", \"b=2\"]\n",
		"s.json": `{"port": 3000, "memory-limit": 64, "listen": ["10.0.0.9", "10.0.0.8"], "verbose": 2, "daemon": true, "extended": "a=1,b=2"}`,
	} {
		c, _, err := load(t, "--config", writeFile(t, name, text))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := testConfig{Port: 3000, Memory: 64, Listen: []string{"10.0.0.9", "10.0.0.8"}, Verbose: 2, Daemon: true, Ext: map[string]string{"a": "1", "b": "2"}}
		if !equalConfig(c, want) {
			t.Errorf("%s: got %+v\nwant %+v", name, c, want)
		}
	}
}

// An unknown key or option in a file is an error that names it and the
// nearest known one.
func TestUnknownInFiles(t *testing.T) {
	for _, tt := range []struct{ name, text, want string }{
		{"a.yaml", "memory-limt: 64\n", `config file FILE: unknown key "memory-limt" (nearest known: "memory-limit")`},
		{"a.toml", "prot = 1\n", `config file FILE: unknown key "prot" (nearest known: "port")`},
		{"a.json", `{"m": 64}`, `config file FILE: key "m": use the long name "memory-limit"`},
		{"a.yaml", "zzzzzz: 1\n", `config file FILE: unknown key "zzzzzz"`},
		{"a.conf", "-m 64\n--memory-limt 64\n", `config file FILE: line 2: unknown option "memory-limt" (nearest known: "memory-limit")`},
		{"a.conf", "-Q\n", `config file FILE: line 1: unknown option "-Q"`},
		{"a.conf", "logfil /x\n", `config file FILE: line 1: unknown option "logfil" (nearest known: "logfile")`},
		{"a.conf", "-o a=1,c=2\n", `config file FILE: line 1: -o (--extended) a=1,c=2: unknown -o suboption "c" (nearest known: "a")`},
		{"a.conf", "-m\n", `config file FILE: line 1: -m needs a value`},
		{"a.conf", "-m x\n", `config file FILE: line 1: -m (--memory-limit) x: strconv.ParseInt: parsing "x": invalid syntax`},
		{"a.conf", "--config other.conf\n", `config file FILE: line 1: option "config": a config file cannot name another`},
		{"a.conf", "64\n", `config file FILE: line 1: unknown option "64"`},
		{"a.yaml", "port: [1, 2]\n", `config file FILE: port: takes one value, not 2`},
	} {
		file := writeFile(t, tt.name, tt.text)
		_, _, err := load(t, "--config", file)
		if err == nil {
			t.Errorf("%q accepted", tt.text)
			continue
		}
		if got := strings.ReplaceAll(err.Error(), file, "FILE"); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.text, got, tt.want)
		}
	}
}

// Suboptions take their values from the highest source that sets each.
func TestExtendedLayering(t *testing.T) {
	file := writeFile(t, "x.conf", "-o a=file,b=file\n")
	c, _, err := load(t, "--config", file, "-o", "a=flag")
	if err != nil {
		t.Fatal(err)
	}
	if c.Ext["a"] != "flag" || c.Ext["b"] != "file" {
		t.Errorf("suboptions %v, want a=flag b=file", c.Ext)
	}
}

// An ignored option warns once, however often it is given, and not when
// turned off.
func TestIgnoredWarnsOnce(t *testing.T) {
	file := writeFile(t, "x.conf", "-k\n-o hashpower=20\n")
	_, s, err := load(t, "--config", file, "-k", "-k", "-o", "hashpower=16")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-k (--lock-memory) is ignored: not here", "-o hashpower is ignored: the index grows by itself"}
	if got := s.Warnings(); !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
	t.Setenv("SHOAL_LOCK_MEMORY", "false")
	if _, s, _ := load(t); len(s.Warnings()) != 0 {
		t.Errorf("warnings %q for a switch turned off", s.Warnings())
	}
}

func TestNearest(t *testing.T) {
	f := pflag.NewFlagSet("x", pflag.ContinueOnError)
	for _, n := range []string{"port", "listen", "memory-limit", "max-item-size"} {
		f.String(n, "", "")
	}
	for in, want := range map[string]string{"prot": "port", "memory_limit": "memory-limit", "max-itemsize": "max-item-size", "lisen": "listen", "xyz": "", "p": ""} {
		if got := nearest(f, in); got != want {
			t.Errorf("nearest(%q) = %q, want %q", in, got, want)
		}
	}
}
