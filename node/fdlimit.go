package node

import (
	"fmt"
	"syscall"
)

// FileHeadroom is the descriptors a node uses besides its connections:
// standard streams, the runtime's poller, the listeners, gossip's streams,
// and a connection over -c while it is being refused.
const FileHeadroom = 32

// fileLimitRefusal is what memcached prints when it cannot get the
// descriptors -c asks for.
const fileLimitRefusal = "failed to set rlimit for open files. Try starting as root or requesting smaller maxconns value."

// RaiseFileLimit makes room for conns connections before a node starts: it
// raises the soft RLIMIT_NOFILE to conns+FileHeadroom, or as far as the
// hard limit allows. Like memcached, it refuses conns beyond the hard limit
// unless the process may raise that (CAP_SYS_RESOURCE). It returns the
// soft limit now in force, which may leave less than FileHeadroom spare:
// then accepts can fail for want of descriptors, and are retried.
func RaiseFileLimit(conns int) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("reading the open files limit: %w", err)
	}
	want := uint64(conns) + FileHeadroom
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	next := syscall.Rlimit{Cur: min(want, lim.Max), Max: lim.Max}
	if uint64(conns) > lim.Max {
		next = syscall.Rlimit{Cur: want, Max: want}
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		return lim.Cur, fmt.Errorf("%s (-c %d needs at least %d open files, the hard limit is %d: %w)",
			fileLimitRefusal, conns, conns, lim.Max, err)
	}
	return next.Cur, nil
}
