package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// WebhookConfig says where and how events are POSTed. Zero fields take the
// defaults below.
type WebhookConfig struct {
	URL        string        // empty: no webhook
	Queue      int           // events waiting to be sent; beyond it they are dropped
	Attempts   int           // tries of one event before it is dropped
	Timeout    time.Duration // bound on one POST, its reply included
	Backoff    time.Duration // wait after the first failed try, doubled after each
	MaxBackoff time.Duration // the longest wait between tries
}

// Defaults of WebhookConfig: an event is given up within about 20 seconds
// of a dead receiver, and a burst of changes (a whole cluster restarting)
// fits in the queue.
const (
	DefaultQueue      = 256
	DefaultAttempts   = 5
	DefaultTimeout    = 2 * time.Second
	DefaultBackoff    = 250 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// maxReplyRead bounds what is read of a receiver's reply, so that the
// connection can be reused without reading whatever a receiver sends.
const maxReplyRead = 4 << 10

func (c WebhookConfig) withDefaults() WebhookConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Queue, DefaultQueue)
	def(&c.Attempts, DefaultAttempts)
	defDur(&c.Timeout, DefaultTimeout)
	defDur(&c.Backoff, DefaultBackoff)
	defDur(&c.MaxBackoff, DefaultMaxBackoff)
	return c
}

// webhook sends queued events one at a time, in order.
type webhook struct {
	cfg    WebhookConfig
	client *http.Client
	queue  chan Event
	m      *counters
	log    *zap.Logger
}

func newWebhook(cfg WebhookConfig, m *counters, log *zap.Logger) *webhook {
	cfg = cfg.withDefaults()
	return &webhook{cfg: cfg, client: &http.Client{}, queue: make(chan Event, cfg.Queue), m: m, log: log}
}

// enqueue hands e to the sender without waiting: a full queue drops it.
func (w *webhook) enqueue(e Event) {
	select {
	case w.queue <- e:
	default:
		w.m.dropped.Inc()
		w.log.Warn("event webhook: queue full, event dropped", zap.String("kind", string(e.Kind)), zap.String("node", e.Node))
	}
}

// run sends queued events until ctx ends.
func (w *webhook) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-w.queue:
			w.deliver(ctx, e)
		}
	}
}

// deliver tries e up to the configured attempts, backing off between them.
func (w *webhook) deliver(ctx context.Context, e Event) {
	body, err := json.Marshal(e)
	if err != nil { // an Event always marshals; kept for the record
		w.log.Error("event webhook: encoding", zap.Error(err))
		return
	}
	wait := w.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, body)
		if err == nil {
			w.m.delivered.Inc()
			return
		}
		w.m.failures.Inc()
		if attempt >= w.cfg.Attempts || ctx.Err() != nil {
			w.m.dropped.Inc()
			w.log.Warn("event webhook: event dropped", zap.String("kind", string(e.Kind)), zap.String("node", e.Node),
				zap.Int("attempts", attempt), zap.Error(err))
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, w.cfg.MaxBackoff)
	}
}

// post sends one event document, within the configured timeout.
func (w *webhook) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReplyRead))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", w.cfg.URL, resp.Status)
	}
	return nil
}
