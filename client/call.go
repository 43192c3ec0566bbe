package client

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/bradfitz/gomemcache/memcache"
)

// maxTries bounds how often one call is tried: a broken pooled connection,
// then a node found down, then the key's fail-over owner.
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

// run runs op on n's gomemcache client and acts on what its error says of n:
// a node that does not answer is routed around at once; after a broken
// connection the node's idle connections, likely as stale (the node
// restarted, say), are dropped so that the next call dials afresh.
func (c *Client) run(n *node, op func(*memcache.Client) error) error {
	err := op(n.mc)
	switch classify(err) {
	case nodeFailure:
		c.markDown(n, err)
	case connFailure:
		n.mc.Close()
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

// do runs op on key's owner. When the owner does not answer, op runs again
// on the key's fail-over owner; after a broken connection, it runs again on
// the same node if running it twice is harmless (idempotent). It returns the
// ring and node of the last try.
func (c *Client) do(ctx context.Context, key string, idempotent bool, op func(*memcache.Client) error) (*ring, *node, error) {
	var err error
	for try := 1; ; try++ {
		if c.closing.Load() {
			return nil, nil, ErrClosed
		}
		r := c.cur.Load()
		n := r.owner(key)
		if n == nil {
			if err == nil {
				err = ErrNoServers
			}
			return r, nil, err // the last node left failed: say how
		}
		err = c.call(ctx, n, op)
		if try < maxTries && ctx.Err() == nil {
			switch f := classify(err); {
			case f == nodeFailure, f == connFailure && idempotent:
				continue
			}
		}
		return r, n, err
	}
}
