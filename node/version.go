package node

import (
	"runtime/debug"
	"strings"
)

// ProtocolVersion is the memcached release whose protocols a node speaks,
// and what it reports as its version (the version command, binary or text,
// and stats' version): clients parse it to learn what the server supports,
// such as meta's E flag, documented from 1.6.21.
const ProtocolVersion = "1.6.21"

// Release is shoal's own version. A release build sets it with
//
//	-ldflags "-X github.com/shoal-cache/shoal/node.Release=1.2.3"
//
// otherwise it is the module version Go stamped the binary with (a
// pseudo-version naming the commit, in a git work tree), or "devel".
var Release = ""

func init() {
	if Release != "" {
		return
	}
	Release = "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		Release = strings.TrimPrefix(bi.Main.Version, "v")
	}
}

// VersionLine is how shoal shows both versions, on every command that
// prints them (shoal --version, shoal node -V): "shoal RELEASE (memcached
// PROTOCOL)". stats reports the same two as version and shoal_version.
func VersionLine() string { return "shoal " + Release + " (memcached " + ProtocolVersion + ")" }
