package slab

import (
	"sync/atomic"
	"time"
)

// clock is memcached's notion of time: whole seconds since the node
// started, read with one atomic load and advanced by a ticker, so that the
// request path never calls time.Now. It starts at 2 so that 0 can mean
// "never expires" and 1 "already expired".
type clock struct {
	started int64 // unix seconds at clock 0
	now     atomic.Uint32
}

func newClock() *clock {
	c := &clock{started: time.Now().Unix() - 2}
	c.tick()
	return c
}

func (c *clock) tick() { c.now.Store(uint32(time.Now().Unix() - c.started)) }

func (c *clock) Now() uint32 { return c.now.Load() }

// maxRelativeExptime is the largest exptime taken as seconds from now;
// larger ones are unix times.
const maxRelativeExptime = 60 * 60 * 24 * 30

// expiry converts a protocol exptime to a clock second: 0 never, negative
// already expired, up to 30 days relative, beyond that an absolute unix time.
func (c *clock) expiry(exptime int64) uint32 {
	switch {
	case exptime == 0:
		return 0
	case exptime < 0:
		return 1
	case exptime > maxRelativeExptime:
		if exptime <= c.started {
			return 1
		}
		return uint32(exptime - c.started)
	default:
		return uint32(exptime) + c.Now()
	}
}

// Unix converts a clock second to unix seconds.
func (c *clock) Unix(t uint32) int64 { return c.started + int64(t) }
