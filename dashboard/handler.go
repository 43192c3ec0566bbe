package dashboard

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/shoal-cache/shoal/status"
)

//go:embed assets/index.html
var page []byte

// Source returns the cluster now; prev is the snapshot it returned last
// (nil the first time), for request rates.
type Source func(ctx context.Context, prev *status.Snapshot) status.Snapshot

// Handler serves the page at / and the cluster at /api/cluster.
func Handler(src Source) http.Handler {
	h := &handler{src: src}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("GET /api/cluster", h.cluster)
	return mux
}

type handler struct {
	src  Source
	mu   sync.Mutex // one reading of the cluster at a time, however many pages poll
	last *status.Snapshot
}

// minInterval is how often the cluster is read at most: more pages polling
// share one reading instead of each costing every node a stats call.
const minInterval = 500 * time.Millisecond

func (h *handler) cluster(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.last == nil || time.Since(h.last.Taken) >= minInterval {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		s := h.src(ctx, h.last)
		cancel()
		h.last = &s
	}
	s := *h.last
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(s)
}
