package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/internal/settings"
	"github.com/shoal-cache/shoal/node"
)

// processSettings are memcached's options about the process rather than
// the cache, which a node and an endpoint share.
type processSettings struct {
	Daemon    bool   // -d: run in the background (daemon.go)
	PidFile   string // -P: write the process id there
	User      string // -u: the user to run as, when started as root
	CoreDumps bool   // -r: maximize the core file limit
	LogFile   string // Debian's memcached.conf "logfile": log there, not to stderr
	Version   bool   // -V: print the version and exit
	License   bool   // -i: print the licenses and exit
	Ops       opsSettings
}

func processOptions(s *settings.Set, p *processSettings) {
	f := s.Flags
	f.BoolVarP(&p.Daemon, "daemon", "d", p.Daemon, "run as a daemon")
	f.StringVarP(&p.PidFile, "pidfile", "P", p.PidFile, "save the PID in this file, removed at exit")
	f.StringVarP(&p.User, "user", "u", p.User, "assume the identity of this user (only when run as root)")
	f.BoolVarP(&p.CoreDumps, "enable-coredumps", "r", p.CoreDumps, "maximize the core file limit, and dump core on a fatal error")
	f.StringVar(&p.LogFile, "logfile", p.LogFile, "log to this file instead of stderr (the logfile line of Debian's memcached.conf)")
	f.BoolVarP(&p.Version, "version", "V", false, "print the version and exit")
	f.BoolVarP(&p.License, "license", "i", false, "print the modules shoal is built from, whose licenses apply, and exit")
	opsOptions(s, &p.Ops)
	s.Ignored("lock-memory", "k", false, nil, "lock down all paged memory",
		"mlockall would fault in all the address space reserved for the arena to grow into (-m, cache_memlimit)")
}

// printInfo prints what -V or -i asks for, reporting whether it did.
func (p *processSettings) printInfo() bool {
	switch {
	case p.Version:
		fmt.Println(node.VersionLine())
	case p.License:
		fmt.Print(modules())
	default:
		return false
	}
	return true
}

// modules lists the modules in the binary: their licenses are shoal's.
func modules() string {
	var b strings.Builder
	b.WriteString(node.VersionLine() + "\nbuilt from these modules; each module's license is in its source:\n")
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(&b, "  %s %s\n", bi.Main.Path, bi.Main.Version)
		for _, m := range bi.Deps {
			fmt.Fprintf(&b, "  %s %s\n", m.Path, m.Version)
		}
	}
	return b.String()
}

// enableCoreDumps is -r: the core file limit raised to the most allowed,
// as memcached raises it, and a fatal Go error made to dump core.
func enableCoreDumps() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &lim); err != nil {
		return fmt.Errorf("failed to ensure corefile creation: %w", err)
	}
	want := syscall.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
	if syscall.Setrlimit(syscall.RLIMIT_CORE, &want) != nil {
		want = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &want)
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &lim); err != nil || lim.Cur == 0 {
		return errors.New("failed to ensure corefile creation") // memcached's words
	}
	debug.SetTraceback("crash")
	return nil
}

// writePidFile writes this process's id to path, as memcached does: through
// a temporary file renamed into place, warning when the file names a
// process still running. The returned func removes it.
func writePidFile(path string, log *zap.Logger) (remove func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 && syscall.Kill(pid, 0) == nil {
			log.Warn("the pid file names a running process", zap.String("pidfile", path), zap.Int("pid", pid))
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("could not open the pid file %s for writing: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("could not rename the pid file %s to %s: %w", tmp, path, err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			log.Warn("removing the pid file", zap.Error(err))
		}
	}, nil
}

// dropPrivileges is -u: started as root, the process takes the identity of
// the user, after it has bound its ports and written its pid file (so that
// both may be in places only root can reach). Not root, -u means nothing.
func dropPrivileges(name string, log *zap.Logger) error {
	switch {
	case os.Geteuid() != 0 && name != "":
		log.Warn("-u (--user) is ignored: shoal is not running as root")
		return nil
	case os.Geteuid() != 0:
		return nil
	case name == "":
		log.Warn("running as root: memcached refuses to without -u USER; give -u to drop root")
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("can't find the user %s to switch to: %w", name, err)
	}
	uid, uerr := strconv.Atoi(u.Uid)
	gid, gerr := strconv.Atoi(u.Gid)
	if uerr != nil || gerr != nil {
		return fmt.Errorf("user %s has uid %q and gid %q", name, u.Uid, u.Gid)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("failed to drop supplementary groups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("failed to assume identity of user %s: %w", name, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("failed to assume identity of user %s: %w", name, err)
	}
	return nil
}
