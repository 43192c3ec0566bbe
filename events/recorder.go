package events

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/discovery"
)

// DefaultInterval is how often a Recorder reads the member's view (a copy
// of a small table under two locks): a transition shorter than that
// (joining to active, or leaving to left, in one step) is still reported,
// as both events at once.
const DefaultInterval = 100 * time.Millisecond

// Config says how a Recorder watches and whom it tells.
type Config struct {
	Interval time.Duration // between reads of the view; 0 is DefaultInterval
	Webhook  WebhookConfig
}

// Validate checks the webhook's address, when there is one.
func (c Config) Validate() error {
	if c.Webhook.URL == "" {
		return nil
	}
	u, err := url.Parse(c.Webhook.URL)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("the event webhook wants an http:// or https:// URL")
	}
	return nil
}

// counters are a Recorder's metrics.
type counters struct {
	events                       *prometheus.CounterVec
	delivered, failures, dropped prometheus.Counter
}

func newCounters() *counters {
	c := &counters{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shoal_cluster_events_total",
			Help: "Cluster events this member saw, by kind."}, []string{"kind"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_cluster_event_webhook_delivered_total",
			Help: "Cluster events the webhook accepted."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_cluster_event_webhook_failures_total",
			Help: "Failed tries of POSTing an event to the webhook."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "shoal_cluster_event_webhook_dropped_total",
			Help: "Cluster events given up: the webhook's queue was full or every try failed."}),
	}
	for _, k := range Kinds {
		c.events.WithLabelValues(string(k))
	}
	return c
}

// A Recorder turns changes of a member's view into events: it logs them,
// counts them and hands them to the webhook. It is a prometheus.Collector
// of its counters.
type Recorder struct {
	cfg  Config
	log  *zap.Logger
	m    *counters
	hook *webhook // nil without a webhook
}

// New returns a Recorder; Run starts it.
func New(cfg Config, log *zap.Logger) *Recorder {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	r := &Recorder{cfg: cfg, log: log, m: newCounters()}
	if cfg.Webhook.URL != "" {
		r.hook = newWebhook(cfg.Webhook, r.m, log)
	}
	return r
}

// Run reads view every interval until ctx ends, recording what changed
// since the read before. The first read is the baseline: what was already
// so when the member started watching is not an event.
func (r *Recorder) Run(ctx context.Context, view func() discovery.View) {
	var wg sync.WaitGroup
	if r.hook != nil {
		wg.Go(func() { r.hook.run(ctx) })
	}
	defer wg.Wait()
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	prev := view()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			next := view()
			r.Record(Diff(prev, next, now)...)
			prev = next
		}
	}
}

// Record logs, counts and sends events, without waiting on the webhook.
func (r *Recorder) Record(events ...Event) {
	for _, e := range events {
		r.log.Info("cluster event", zap.String("kind", string(e.Kind)), zap.String("node", e.Node),
			zap.String("addr", e.Addr), zap.Int("position", e.Position), zap.Uint64("version", e.Version),
			zap.String("seen_by", e.SeenBy))
		r.m.events.WithLabelValues(string(e.Kind)).Inc()
		if r.hook != nil {
			r.hook.enqueue(e)
		}
	}
}

// Describe and Collect make a Recorder a prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	r.collectors(func(c prometheus.Collector) { c.Describe(ch) })
}

// Collect sends the counters' current values.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	r.collectors(func(c prometheus.Collector) { c.Collect(ch) })
}

func (r *Recorder) collectors(f func(prometheus.Collector)) {
	for _, c := range []prometheus.Collector{r.m.events, r.m.delivered, r.m.failures, r.m.dropped} {
		f(c)
	}
}
