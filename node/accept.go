package node

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Accept failures that pass: the process or the system is short of
// descriptors, buffers or memory for a moment (closing connections frees
// them), or a client went away before it was accepted. The listener is
// fine, so Serve waits and tries again, as memcached stops accepting for a
// while (counting listen_disabled_num) and net/http backs off.
var temporaryAcceptErrors = []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS, syscall.ENOMEM}

// The wait after a temporary accept failure starts at acceptBackoffMin and
// doubles with each failure in a row up to acceptBackoffMax (net/http's
// figures): retrying at once would spin a core while descriptors are out,
// and a second is as long as a freed descriptor should wait.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptWarnEvery bounds how often a run of accept failures is logged.
const acceptWarnEvery = time.Minute

func temporaryAccept(err error) bool {
	for _, e := range temporaryAcceptErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func nextAcceptBackoff(d time.Duration) time.Duration {
	return min(max(2*d, acceptBackoffMin), acceptBackoffMax)
}

// acceptLoop accepts connections on ln until Shutdown, backing off while
// accept fails for a reason that passes; with useTLS they speak TLS.
func (s *Server) acceptLoop(ln net.Listener, useTLS bool) error {
	var wait time.Duration
	var warned time.Time
	for {
		nc, err := ln.Accept()
		if err == nil {
			wait = 0
			s.start(nc, useTLS)
			continue
		}
		if s.draining.Load() {
			return nil
		}
		if !temporaryAccept(err) {
			return fmt.Errorf("accepting on %s: %w", ln.Addr(), err)
		}
		s.stats.listenDisabled.Add(1)
		if wait == 0 && time.Since(warned) >= acceptWarnEvery {
			warned = time.Now()
			s.log.Warn("accepting connections failed; retrying with backoff", zap.Error(err))
		}
		wait = nextAcceptBackoff(wait)
		if !s.pause(wait) {
			return nil
		}
	}
}

// pause waits for d, or until Shutdown; it reports whether to go on.
func (s *Server) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}
