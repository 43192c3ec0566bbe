package bench

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 250 * time.Millisecond

// progress redraws one line on a terminal: a bar towards the end of the
// phase (by time or by count, whichever is further), requests so far and
// the current rate.
type progress struct {
	out   io.Writer
	done  *atomic.Int64
	name  string
	d     time.Duration
	total int64
	start time.Time
	quit  chan struct{}
	exit  chan struct{}
}

func startProgress(out io.Writer, done *atomic.Int64, name string, d time.Duration, total int64) *progress {
	p := &progress{out: out, done: done, name: name, d: d, total: total, start: time.Now(),
		quit: make(chan struct{}), exit: make(chan struct{})}
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer close(p.exit)
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	last, lastAt := int64(0), p.start
	for {
		select {
		case <-p.quit:
			fmt.Fprint(p.out, "\r\033[K")
			return
		case now := <-t.C:
			n := p.done.Load()
			rate := float64(n-last) / now.Sub(lastAt).Seconds()
			last, lastAt = n, now
			fmt.Fprintf(p.out, "\r\033[K%s", p.line(now.Sub(p.start), n, rate))
		}
	}
}

func (p *progress) line(elapsed time.Duration, n int64, rate float64) string {
	frac := 0.0
	if p.d > 0 {
		frac = elapsed.Seconds() / p.d.Seconds()
	}
	if p.total > 0 {
		frac = max(frac, float64(n)/float64(p.total))
	}
	frac = min(frac, 1)
	const width = 30
	fill := int(frac * width)
	return fmt.Sprintf("%-7s [%s%s] %3.0f%%  %6.1fs  %d requests  %.0f/s",
		p.name, strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		frac*100, elapsed.Seconds(), n, rate)
}

// finish clears the line.
func (p *progress) finish() {
	close(p.quit)
	<-p.exit
}
