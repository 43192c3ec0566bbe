package bench

import "time"

// failures is what went wrong on one connection: requests that got no
// reply, connections lost or not made, and when the first and the last of
// these happened.
type failures struct {
	requests, conns int64
	first, last     time.Time
	err             error // the last error
}

// note records a failure at at; err, if any, becomes the last error
// unless a later one is known.
func (f *failures) note(at time.Time, err error) {
	if err != nil && (f.err == nil || !at.Before(f.last)) {
		f.err = err
	}
	if f.first.IsZero() || at.Before(f.first) {
		f.first = at
	}
	if at.After(f.last) {
		f.last = at
	}
}

// add sums another connection's failures into f.
func (f *failures) add(o *failures) {
	if o.first.IsZero() {
		return
	}
	f.requests += o.requests
	f.conns += o.conns
	f.note(o.last, o.err)
	f.note(o.first, nil)
}

// NodeResult is how one server fared under measured load.
type NodeResult struct {
	Server     string
	Failed     int64         // requests that got no reply: the connection failed or was down
	ConnErrors int64         // connections lost, and dials that failed
	FirstError time.Duration // since the load started; set when Failed or ConnErrors is
	LastError  time.Duration
	Err        string // the last error
}

func nodeResult(server string, f *failures, start time.Time) NodeResult {
	n := NodeResult{Server: server, Failed: f.requests, ConnErrors: f.conns}
	if !f.first.IsZero() {
		n.FirstError, n.LastError = f.first.Sub(start), f.last.Sub(start)
	}
	if f.err != nil {
		n.Err = f.err.Error()
	}
	return n
}
