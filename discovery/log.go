package discovery

import (
	"bytes"
	"log"
	"sync/atomic"

	"go.uber.org/zap"
)

// zapWriter turns memberlist's log lines ("[WARN] memberlist: ...") into
// zap entries at the matching level. Once quiet is set (the member is
// shutting down), it drops them: memberlist's loops report the sockets it
// closes under them.
type zapWriter struct {
	log   *zap.Logger
	quiet *atomic.Bool
}

func newMemberlistLogger(l *zap.Logger, quiet *atomic.Bool) *log.Logger {
	return log.New(zapWriter{l.Named("memberlist"), quiet}, "", 0)
}

func (w zapWriter) Write(p []byte) (int, error) {
	if w.quiet.Load() {
		return len(p), nil
	}
	line := string(bytes.TrimRight(p, "\n"))
	level, msg := "", line
	if len(line) > 0 && line[0] == '[' {
		if i := bytes.IndexByte(p, ']'); i > 0 {
			level, msg = line[1:i], string(bytes.TrimLeft(p[i+1:len(line)], " "))
		}
	}
	switch level {
	case "DEBUG":
		w.log.Debug(msg)
	case "WARN", "ERR", "ERROR":
		// memberlist's errors are network trouble (a peer gone, a
		// socket closed at shutdown), not this program's bugs.
		w.log.Warn(msg)
	default:
		w.log.Info(msg)
	}
	return len(p), nil
}
