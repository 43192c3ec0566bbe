package events

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/discovery"
	"github.com/shoal-cache/shoal/internal/testproc"
)

// fastHook is a webhook configuration for tests: a small queue, short tries.
func fastHook(url string) WebhookConfig {
	return WebhookConfig{URL: url, Queue: 4, Attempts: 3, Timeout: 100 * time.Millisecond,
		Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

// startRecorder runs a Recorder, on a view that never changes, until the
// test ends; the test feeds it events with Record.
func startRecorder(t *testing.T, cfg WebhookConfig) *Recorder {
	t.Helper()
	r := New(Config{Webhook: cfg}, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, func() discovery.View { return discovery.View{} }); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// waitCount waits up to 10 seconds for c to reach want, and fails if it
// goes past it.
func waitCount(t *testing.T, what string, c prometheus.Collector, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := testutil.ToFloat64(c)
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func event(i int) Event {
	return Event{Kind: Failed, Node: "n" + string(rune('a'+i%26)), Position: i, Version: 7,
		Time: time.Unix(1700000000, 0).UTC(), SeenBy: "ep"}
}

// A receiver gets each event once, as a JSON document, in order.
func TestWebhookDelivers(t *testing.T) {
	got := make(chan Event, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e Event
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &e) != nil {
			t.Errorf("%s %q %q", r.Method, r.Header.Get("Content-Type"), body)
		}
		got <- e
	}))
	defer srv.Close()
	r := startRecorder(t, fastHook(srv.URL))
	r.Record(event(0), event(1))
	for i := range 2 {
		select {
		case e := <-got:
			if e != event(i) {
				t.Errorf("event %d: got %+v, want %+v", i, e, event(i))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d not delivered", i)
		}
	}
	waitCount(t, "delivered", r.m.delivered, 2)
	if n := testutil.ToFloat64(r.m.events.WithLabelValues("failed")); n != 2 {
		t.Errorf("shoal_cluster_events_total{kind=failed} = %v, want 2", n)
	}
}

// A receiver that hangs, refuses connections or answers 500 costs dropped
// events: Record never waits, each event is tried Attempts times at most,
// and every event is counted once, delivered or dropped.
func TestWebhookFailures(t *testing.T) {
	var tries atomic.Int64
	block := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(block) // before Close, which waits for the handlers
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer fail.Close()
	for _, tt := range []struct{ name, url string }{
		{"hangs", hang.URL},
		{"refuses", "http://" + testproc.FreeAddr(t)},
		{"answers 500", fail.URL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tries.Store(0)
			r := startRecorder(t, fastHook(tt.url))
			const n = 50
			start := time.Now()
			for i := range n {
				r.Record(event(i))
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("recording %d events took %v: it waits on the webhook", n, took)
			}
			waitCount(t, "dropped", r.m.dropped, n)
			failures := testutil.ToFloat64(r.m.failures)
			// At most the queue and the one being sent are tried, Attempts times each.
			if failures == 0 || failures > 3*5 || int(failures)%3 != 0 {
				t.Errorf("%v failed tries for %d events, queue 4, 3 tries each", failures, n)
			}
			if tt.url != "" && tt.name != "refuses" && float64(tries.Load()) != failures {
				t.Errorf("the receiver saw %d tries, the recorder counted %v", tries.Load(), failures)
			}
			if d := testutil.ToFloat64(r.m.delivered); d != 0 {
				t.Errorf("delivered = %v", d)
			}
		})
	}
}
