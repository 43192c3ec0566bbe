package node

import (
	"context"
	"testing"
	"time"
)

// StartTestServer runs an in-process node on a free loopback port until the
// test ends, with DefaultConfig changed by mutate, and returns it and its
// address. It is exported for the package's external tests.
func StartTestServer(tb testing.TB, mutate ...func(*Config)) (*Server, string) {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Listen, cfg.Port = []string{"127.0.0.1"}, 0
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := NewServer(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	return s, s.Addr().String()
}

// StartTestNode is StartTestServer for tests that need only the address.
func StartTestNode(tb testing.TB, mutate ...func(*Config)) string {
	tb.Helper()
	_, addr := StartTestServer(tb, mutate...)
	return addr
}

// MaxWaiting is maxWaiting, for the package's external tests.
const MaxWaiting = maxWaiting
