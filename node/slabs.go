package node

import (
	"errors"
	"math"
	"strconv"

	"github.com/shoal-cache/shoal/node/internal/store"
	"github.com/shoal-cache/shoal/protocol"
)

// slabs serves memcached's `slabs reassign SRC DST` and
// `slabs automove 0|1|2` (and `slabs automove ratio R`), with memcached's
// replies, byte for byte.
func (c *conn) slabs(tokens [][]byte) {
	if !c.adminAllowed("slabs") {
		return
	}
	switch {
	case len(tokens) == 4 && string(tokens[1]) == "reassign":
		c.slabsReassign(tokens)
	case len(tokens) >= 3 && string(tokens[1]) == "automove":
		c.slabsAutomove(tokens)
	default:
		c.write(protocol.RespError)
	}
}

func (c *conn) slabsReassign(tokens [][]byte) {
	st := c.withStore()
	if st == nil {
		return
	}
	src, ok1 := protocol.ParseInt32(tokens[2])
	dst, ok2 := protocol.ParseInt32(tokens[3])
	if !ok1 || !ok2 {
		c.write(protocol.RespBadFormat)
		return
	}
	c.write(reassignReply(st.Reassign(int(src), int(dst))))
}

// reassignReply is memcached's answer to slabs reassign for err.
func reassignReply(err error) []byte {
	word := map[error]string{store.ErrBusy: "BUSY", store.ErrBadClass: "BADCLASS", store.ErrNoSpare: "NOSPARE",
		store.ErrSameClass: "SAME", store.ErrReassignOff: "CLIENT_ERROR"}
	if err == nil {
		return protocol.RespOK
	}
	for e, w := range word {
		if errors.Is(err, e) {
			return []byte(w + " " + e.Error() + "\r\n")
		}
	}
	return []byte("SERVER_ERROR " + err.Error() + "\r\n")
}

// slabsAutomove: memcached reads a mode with strtoul (so "1x" is a format
// error, "3" plain ERROR) and a ratio with strtod; noreply is honoured.
func (c *conn) slabsAutomove(tokens [][]byte) {
	c.setNoreply(tokens)
	st := c.withStore()
	if st == nil {
		return
	}
	if string(tokens[2]) == "ratio" {
		// memcached's check is ntokens < 5, counting its final empty token:
		// "slabs automove ratio R" and no fewer.
		ratio, ok := parseRatio(tokens)
		if !ok {
			c.reply(protocol.RespError)
			return
		}
		st.SetAutomoveRatio(ratio)
		c.reply(protocol.RespOK)
		return
	}
	mode, ok := protocol.ParseUint32(tokens[2])
	switch {
	case !ok:
		c.reply(protocol.RespBadFormat)
	case mode > 2:
		c.reply(protocol.RespError)
	default:
		_ = st.SetAutomove(store.AutomoveMode(mode)) // mode is checked above
		c.reply(protocol.RespOK)
	}
}

// parseRatio reads R of "slabs automove ratio R" as memcached's strtod
// does, but only a finite number: NaN would make every comparison of the
// automover false.
func parseRatio(tokens [][]byte) (float64, bool) {
	if len(tokens) < 4 {
		return 0, false
	}
	r, err := strconv.ParseFloat(string(tokens[3]), 64)
	return r, err == nil && !math.IsInf(r, 0) && !math.IsNaN(r)
}
