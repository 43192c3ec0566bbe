package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/node"
)

// serverOptions declares what a node and a configuration endpoint share, as
// memcached names it: where they listen, who may connect and how, and how
// much they log, bound to c. ext is -o, for the suboptions of the same.
func serverOptions(s *settings.Set, c *node.Config, ext *settings.Extended) {
	f := s.Flags
	f.IntVarP(&c.Port, "port", "p", c.Port, "TCP port to listen on")
	f.VarP(&listenValue{s: s, c: c}, "listen", "l", "interfaces to listen on, repeated or comma separated: HOST, HOST:PORT, [IPV6]:PORT, notls:HOST:PORT (0.0.0.0 for all)")
	f.StringVarP(&c.UnixSocket, "unix-socket", "s", c.UnixSocket, "UNIX socket to listen on (disables network support)")
	f.VarP(settings.Value(&c.UnixMask, parseUnixMask, showUnixMask, "mask"), "unix-mask", "a", "access mask for the UNIX socket, in octal")
	var udp int
	f.VarP(settings.Value(&udp, parseUDPPort, strconv.Itoa, "num"), "udp-port", "U", "UDP port: only 0 (off), shoal serves TCP alone")
	f.IntVarP(&c.ConnLimit, "conn-limit", "c", c.ConnLimit, "max simultaneous connections")
	f.IntVarP(&c.Threads, "threads", "t", c.Threads, "number of cores to serve on")
	f.CountVarP(&c.Verbosity, "verbose", "v", "verbose logging (connection errors at debug level); -vv the same")
	f.StringVarP(&c.Protocol, "protocol", "B", c.Protocol, "protocol: ascii, binary, or auto (by the first byte)")
	f.BoolVarP(&c.EnableShutdown, "enable-shutdown", "A", c.EnableShutdown, `enable the ascii "shutdown" command`)
	f.StringVarP(&c.AuthFile, "auth-file", "Y", c.AuthFile, "enable ASCII protocol authentication, users from this file (user:pass lines)")
	f.BoolVarP(&c.TLS.Enable, "enable-ssl", "Z", c.TLS.Enable, "enable TLS")
	f.BoolVarP(&c.SASL, "enable-sasl", "S", c.SASL, "SASL PLAIN authentication on the binary protocol, users from --sasl-pwdb")
	f.StringVar(&c.SASLFile, "sasl-pwdb", cmp.Or(c.SASLFile, os.Getenv("MEMCACHED_SASL_PWDB")), "user:password file for SASL (default: $MEMCACHED_SASL_PWDB, as memcached)")
	f.Var(settings.Value(&c.Allow, parseAllow, joinPrefixes, "cidr,..."), "allow", "networks (CIDR or address, comma separated) clients may connect from; others are closed at once")
	f.BoolVarP(&c.DisableWatch, "disable-watch", "W", c.DisableWatch, "disable watch commands (live logging)")
	f.StringSliceVar(&c.DisabledCommands, "disable-commands", c.DisabledCommands, "administrative commands to refuse: "+strings.Join(node.AdminCommands, ", ")+" (-F is flush_all)")
	s.Ignored("max-reqs-per-event", "R", true, positive("Number of requests per event"), "maximum number of requests per event",
		"shoal serves every request a read brings and batches the replies; nothing starves")
	s.Ignored("listen-backlog", "b", true, nil, "the backlog queue limit", "Go listens with the system's backlog (net.core.somaxconn)")
	s.Ignored("napi-ids", "N", true, positive("Maximum number of NAPI IDs"), "number of NAPI ids", "connections are not spread over threads by NAPI id")
	tlsSuboptions(ext, &c.TLS)
	serverSuboptions(ext, c)
}

// listenValue is -l: memcached's listen list, to be repeated or comma (or
// semicolon) separated. A notls: entry goes to TLS.NoTLS; memcached's
// per-listener proto[...] and tag[...] prefixes are ignored with a warning.
type listenValue struct {
	s   *settings.Set
	c   *node.Config
	set bool // the defaults are replaced by the first value
}

func (v *listenValue) Set(list string) error {
	if !v.set {
		v.c.Listen, v.c.TLS.NoTLS, v.set = nil, nil, true
	}
	for _, e := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ';' }) {
		if err := v.add(strings.TrimSpace(e)); err != nil {
			return err
		}
	}
	return nil
}

func (v *listenValue) add(e string) error {
	into := &v.c.Listen
	if rest, ok := strings.CutPrefix(e, "notls:"); ok {
		into, e = &v.c.TLS.NoTLS, rest
	}
	for _, p := range []string{"proto[", "tag["} {
		if strings.HasPrefix(e, p) {
			end := strings.Index(e, "]")
			if end < 0 {
				return fmt.Errorf("invalid %s...] spec in %q", p, e)
			}
			v.s.Warn("-l %s...]: listener protocols and tags are ignored: every listener serves every protocol", p)
			e = strings.TrimPrefix(e[end+1:], ":")
		}
	}
	if e == "" {
		return errors.New("empty listen address")
	}
	if !slices.Contains(*into, e) { // memcached skips an address given twice
		*into = append(*into, e)
	}
	return nil
}

func (v *listenValue) String() string {
	out := slices.Clone(v.c.Listen)
	for _, a := range v.c.TLS.NoTLS {
		out = append(out, "notls:"+a)
	}
	return strings.Join(out, ",")
}

func (v *listenValue) Type() string { return "addrs" }

// Append, Replace and GetSlice make -l a list in config files.
func (v *listenValue) Append(e string) error { return v.Set(e) }
func (v *listenValue) Replace(es []string) error {
	v.set = false
	return v.Set(strings.Join(es, ","))
}
func (v *listenValue) GetSlice() []string { return strings.Split(v.String(), ",") }

func parseUnixMask(s string) (fs.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("%q is not an octal access mask", s)
	}
	return fs.FileMode(m), nil
}

func showUnixMask(m fs.FileMode) string { return fmt.Sprintf("%o", m) }

// parseUDPPort takes only 0: UDP is off for good.
func parseUDPPort(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n == 0 {
		return 0, nil
	}
	return 0, errors.New("UDP is off for good in shoal: memcached's UDP port served the 2018 DDoS amplification attacks (memcached 1.5.6 turned it off by default); shoal serves TCP only, so -U takes only 0")
}

// refusal is a switch that cannot be turned on, saying why.
type refusal string

func (r refusal) Set(v string) error {
	if on, err := strconv.ParseBool(v); err == nil && !on {
		return nil
	}
	return errors.New(string(r))
}
func (r refusal) String() string { return "false" }
func (r refusal) Type() string   { return "bool" }

// positive checks an ignored option's number as memcached does: greater
// than 0, or "what must be greater than 0".
func positive(what string) func(string) error {
	return func(s string) error {
		if n, err := strconv.Atoi(s); err != nil || n <= 0 {
			return fmt.Errorf("%s must be greater than 0", what)
		}
		return nil
	}
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func parseAllow(list string) ([]netip.Prefix, error) {
	return node.ParseAllow(strings.Split(list, ","))
}
