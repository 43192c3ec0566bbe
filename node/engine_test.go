package node

import (
	"testing"

	"github.com/shoal-cache/shoal/node/internal/store"
)

// newTestStore is an engine configured as DefaultConfig configures a
// node's, with mb megabytes of memory, closed when the test ends.
func newTestStore(t testing.TB, mb int) *store.Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.MemoryLimitMB = mb
	s, err := store.New(cfg.storeConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
