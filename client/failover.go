package client

import "time"

// Writes on a fail-over owner. While a key's primary owner is down or
// missing, its writes land on its fail-over owner; when the primary comes
// back, nothing updates those copies any more, and they come back at its
// next failure, older than the writes made on the primary meanwhile. So
// they get a short life (mcrouter's failover_exptime): see
// Config.FailoverTTL.

// failoverExpiration caps an expiration, as memcached takes it (seconds up
// to 30 days, a Unix time beyond, 0 for never), at FailoverTTL.
func (c *Client) failoverExpiration(exp int32) int32 {
	limit := int64((c.cfg.FailoverTTL + time.Second - 1) / time.Second)
	secs := int64(exp)
	if secs > month {
		secs -= time.Now().Unix()
	}
	if exp != 0 && secs <= limit {
		return exp // shorter already, or expired (a Unix time gone by, a negative TTL)
	}
	return expirationSeconds(limit)
}
