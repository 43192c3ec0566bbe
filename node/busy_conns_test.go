package node_test

import (
	"bufio"
	"net"
	"sync"
	"testing"

	"github.com/shoal-cache/shoal/node"
)

// TestBusyConnectionsAreNotParked: past node.MaxWaiting connections, an
// idle one parks at once, but a busy one (a request within a sweep of its
// last) keeps waiting on Go's poller: otherwise every request of the
// connections past the bound would pay a park and a wake (two epoll_ctl
// calls and a goroutine).
func TestBusyConnectionsAreNotParked(t *testing.T) {
	const conns, requests = node.MaxWaiting + 64, 40
	srv, addr := node.StartTestServer(t)
	clients := make([]*bufio.ReadWriter, conns)
	for i := range clients {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		clients[i] = bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc))
	}
	roundTrips := func(n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, conns)
		for _, rw := range clients {
			wg.Go(func() {
				for range n {
					if err := versionRoundTrip(rw); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	roundTrips(1) // every connection has served a request
	before := srv.ConnEngine().Parks
	roundTrips(requests)
	// A connection may still park once, at its first request here if the
	// one before came more than a sweep earlier; never at every request.
	if parks := srv.ConnEngine().Parks - before; parks >= conns {
		t.Errorf("%d parks over %d requests on %d busy connections (%d may wait on Go's poller); want fewer than %d",
			parks, conns*requests, conns, node.MaxWaiting, conns)
	}
}

func versionRoundTrip(rw *bufio.ReadWriter) error {
	if _, err := rw.WriteString("version\r\n"); err != nil {
		return err
	}
	if err := rw.Flush(); err != nil {
		return err
	}
	_, err := rw.ReadString('\n')
	return err
}
