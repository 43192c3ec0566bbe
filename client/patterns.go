package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
)

// ErrNotFound is what a Loader returns when the key does not exist in the
// system of record, and what GetOrLoad then returns.
var ErrNotFound = errors.New("client: not found")

// A Loader reads a key's value from the system of record behind the cache.
type Loader func(ctx context.Context, key string) ([]byte, error)

// negativeFlags marks a cached ErrNotFound: an empty value with these flags.
const negativeFlags = 0x4e454741 // "NEGA"

// GetOrLoad returns key's cached value or, on a miss, loads it with load and
// caches it for ttl, less up to TTLJitter of it at random (zero ttl: no
// expiration). Concurrent calls for a key that is not cached make one call
// to load between them and share its result (ctx ends only the wait of its
// own caller; load runs under the first caller's context values and deadline
// but not its cancellation). When load returns ErrNotFound and NegativeTTL is
// set, that answer is cached too. A cache that fails is a cache that
// misses: its errors are logged and the value is loaded.
//
// The value returned to callers that shared a load is a copy of their own.
func (c *Client) GetOrLoad(ctx context.Context, key string, ttl time.Duration, load Loader) ([]byte, error) {
	if v, err, ok := c.cached(ctx, key); ok {
		return v, err
	}
	ch := c.flights.DoChan(key, func() (any, error) { return c.load(ctx, key, ttl, load) })
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		v := res.Val.([]byte)
		if res.Shared {
			v = bytes.Clone(v)
		}
		return v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// cached reports key's cached value, or ok false when it must be loaded.
func (c *Client) cached(ctx context.Context, key string) (v []byte, err error, ok bool) {
	it, err := c.Get(ctx, key)
	switch {
	case err == nil && it.Flags == negativeFlags && len(it.Value) == 0:
		return nil, ErrNotFound, true
	case err == nil:
		return it.Value, nil, true
	case errors.Is(err, ErrMalformedKey), errors.Is(err, ErrClosed), ctx.Err() != nil:
		return nil, err, true
	case !errors.Is(err, ErrCacheMiss):
		c.log.Debug("cache read failed; loading", zap.String("key", key), zap.Error(err))
	}
	return nil, nil, false
}

// load is one flight of GetOrLoad.
func (c *Client) load(ctx context.Context, key string, ttl time.Duration, load Loader) ([]byte, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	// A flight that ended between this caller's miss and the start of this
	// one has filled the cache: look again rather than load again.
	if v, err, ok := c.cached(ctx, key); ok {
		return v, err
	}
	v, err := load(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		if c.cfg.NegativeTTL > 0 {
			c.setQuietly(ctx, &Item{Key: key, Flags: negativeFlags, Expiration: c.jittered(c.cfg.NegativeTTL)})
		}
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("client: loading %q: %w", key, err)
	}
	c.setQuietly(ctx, &Item{Key: key, Value: v, Expiration: c.jittered(ttl)})
	return v, nil
}

func (c *Client) setQuietly(ctx context.Context, it *Item) {
	if err := c.Set(ctx, it); err != nil {
		c.log.Warn("cache write failed", zap.String("key", it.Key), zap.Error(err))
	}
}

// detach keeps ctx's values and deadline but not its cancellation, for work
// that callers other than ctx's wait for.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, dl)
	}
	return d, func() {}
}

// jittered is ttl as an expiration, less up to TTLJitter of it at random.
func (c *Client) jittered(ttl time.Duration) int32 {
	if ttl <= 0 {
		return 0
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	if j := c.cfg.TTLJitter; j > 0 {
		secs -= rand.Int64N(int64(float64(secs)*j) + 1)
	}
	return expirationSeconds(max(secs, 1))
}

// SetThrough writes item to the system of record with store, then to the
// cache. When store fails, the cache is left alone and store's error
// returned. When the cache write fails, the key is deleted from the cache,
// so that no reader sees the value the store held before; only if that
// fails too does SetThrough return an error, since the cache may then
// serve the older value until it expires.
func (c *Client) SetThrough(ctx context.Context, item *Item, store func(context.Context, *Item) error) error {
	if err := store(ctx, item); err != nil {
		return err
	}
	err := c.Set(ctx, item)
	if err == nil {
		return nil
	}
	// The caller's context may be what failed the write: clean up anyway,
	// within the client's Timeout.
	derr := c.Delete(context.WithoutCancel(ctx), item.Key)
	if derr == nil || errors.Is(derr, ErrCacheMiss) {
		c.log.Warn("cache write failed after store; key deleted", zap.String("key", item.Key), zap.Error(err))
		return nil
	}
	return fmt.Errorf("client: %q stored, but the cache may hold an older value: %w", item.Key, errors.Join(err, derr))
}
