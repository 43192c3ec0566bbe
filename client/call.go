package client

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/bradfitz/gomemcache/memcache"
)

// maxTries bounds how often one call is tried: its owner, then its
// fail-over owner, then the next one's should that fail too.
const maxTries = 3

// failure is what an error says about the node that returned it.
type failure int

const (
	noFailure   failure = iota // an answer, or an error of the request itself
	connFailure                // a pooled connection broke; the node may be fine
	nodeFailure                // the node does not answer: dial error or timeout
)

func classify(err error) failure {
	switch err {
	case nil, memcache.ErrCacheMiss, memcache.ErrCASConflict, memcache.ErrNotStored,
		memcache.ErrMalformedKey, memcache.ErrNoServers:
		return noFailure // the common answers, without errors.As's allocations
	}
	return classifyNetwork(err)
}

func classifyNetwork(err error) failure {
	var cte *memcache.ConnectTimeoutError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return noFailure
	case errors.As(err, &cte), errors.As(err, &ne) && ne.Timeout(),
		errors.As(err, &oe) && oe.Op == "dial":
		return nodeFailure
	case errors.As(err, &oe), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return connFailure
	}
	return noFailure
}

// run runs op on n's gomemcache client and acts on what its error says of n.
// A node that does not answer is routed around at once. So is one whose
// connection broke (killed, restarted): its other idle connections likely
// broke alike and are dropped, and a retry must not meet them; only when n
// is the last node left is it tried again, on a fresh connection.
func (c *Client) run(n *node, op func(*memcache.Client) error) error {
	err := op(n.mc)
	switch classify(err) {
	case nodeFailure:
		c.markDown(n, err)
	case connFailure:
		n.mc.Close()
		if !c.cur.Load().onlyLive(n) {
			c.markDown(n, err)
		}
	}
	return err
}

// call runs op on n within ctx. gomemcache takes no context, so a call whose
// context can end runs in a goroutine and call returns ctx's error when ctx
// ends first; see the package documentation.
func (c *Client) call(ctx context.Context, n *node, op func(*memcache.Client) error) error {
	if ctx.Done() == nil {
		return c.run(n, op)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- c.run(n, op) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A callKind is what a call does to its key, which decides how it is
// retried and whether it owes the key to its primary (repair.go).
type callKind int

const (
	read      callKind = iota
	write              // harmless to apply twice: set, replace, delete, touch
	writeOnce          // not to be sent again after a broken connection
)

// do runs op on key's owner; op is told whether that is a fail-over owner,
// to cap the expiration it writes. When the owner does not answer, or its
// connection breaks and running op twice is harmless, op runs again on the
// key's fail-over owner: a retry goes around every node this call found
// failing, whether or not the ring says so yet. It returns the ring and
// node of the last try.
func (c *Client) do(ctx context.Context, key string, kind callKind, op func(mc *memcache.Client, failover bool) error) (*ring, *node, error) {
	var failed []*node
	var err error
	for try := 1; ; try++ {
		if c.closing.Load() {
			return nil, nil, ErrClosed
		}
		r := c.cur.Load().without(failed)
		n := r.owner(key)
		if n == nil {
			if err == nil {
				err = ErrNoServers
			}
			return r, nil, err // the last node left failed: say how
		}
		n, failover := c.writeTarget(r, key, n, kind)
		err = c.call(ctx, n, func(mc *memcache.Client) error { return op(mc, failover) })
		if !retryable(err, kind) || try == maxTries || ctx.Err() != nil {
			return r, n, err
		}
		if len(r.live) > 1 {
			failed = append(failed, n)
		}
	}
}

// writeTarget is where a call of kind writes key, owned by n in r, and
// whether n is a fail-over owner there. A write on a fail-over owner is
// owed to the key's primary position; if that position has been routed to
// again since r was loaded, the write goes there instead.
func (c *Client) writeTarget(r *ring, key string, n *node, kind callKind) (*node, bool) {
	if kind == read {
		return n, false
	}
	pos, primary := r.primaryOf(key, n)
	if primary {
		return n, false
	}
	if back := c.owe(pos, key); back != nil {
		return back, false
	}
	return n, true
}

// retryable reports whether a call of kind that failed with err is tried
// again.
func retryable(err error, kind callKind) bool {
	switch classify(err) {
	case nodeFailure:
		return true
	case connFailure:
		return kind != writeOnce
	}
	return false
}
