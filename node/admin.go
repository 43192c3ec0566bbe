package node

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shoal-cache/shoal/protocol"
)

// Administrative commands change the whole node rather than a key. memcached
// leaves them open to every client and lets -F switch off flush_all; shoal
// lets the operator switch off any of them (Config.DisabledCommands), and
// with authentication on they need an authenticated connection like
// everything else.

// AdminCommands are the commands DisabledCommands may name.
var AdminCommands = []string{"flush_all", "cache_memlimit", "shutdown", "verbosity", "refresh_certs", "slabs"}

func validateDisabled(cmds []string) error {
	for _, c := range cmds {
		if !slices.Contains(AdminCommands, c) {
			return fmt.Errorf("cannot disable %q: the administrative commands are %s", c, strings.Join(AdminCommands, ", "))
		}
	}
	return nil
}

// adminAllowed reports whether the administrative command name may run,
// answering as memcached answers a flush_all under -F when it may not.
func (c *conn) adminAllowed(name string) bool {
	if !slices.Contains(c.s.cfg.DisabledCommands, name) {
		return true
	}
	c.reply([]byte("CLIENT_ERROR " + name + " not allowed\r\n"))
	return false
}

// binFlushAllowed is adminAllowed for the binary flush, which memcached
// refuses under -F with an authentication error, quiet or not.
func (c *conn) binFlushAllowed(req *binRequest) bool {
	if !slices.Contains(c.s.cfg.DisabledCommands, "flush_all") {
		return true
	}
	c.binError(req, protocol.StatusAuthError, "")
	return false
}
