package node

import (
	"errors"

	"github.com/shoal-cache/shoal/node/internal/store"
	"github.com/shoal-cache/shoal/protocol"
)

// metaCommand serves the meta commands (mg, ms, md, ma, mn, me). rest is
// the part of the line the tokenizer left unsplit.
func (c *conn) metaCommand(cmd byte, tokens [][]byte, rest []byte) error {
	more := len(rest) > 0
	switch cmd {
	case 'g':
		c.metaGet(tokens, more)
	case 's':
		return c.metaSet(tokens, more)
	case 'd':
		c.metaDelete(tokens, more)
	case 'a':
		c.metaArith(tokens, more)
	case 'n':
		c.write(protocol.RespMN)
	case 'e':
		c.metaDebug(tokens)
	default:
		c.write(protocol.RespError)
	}
	return nil
}

// parseMeta parses a meta command without a data block into m, answering
// a malformed one; it returns the store to run it on, or nil when there is
// nothing to run.
func (c *conn) parseMeta(tokens [][]byte, more bool, m *protocol.Meta) *store.Store {
	if e, _ := protocol.ParseMeta(tokens, more, m); e != nil {
		c.write(e)
		return nil
	}
	return c.withStore()
}

// metaGet serves mg. Quiet mode leaves out EN only: a hit is always
// answered, as in memcached 1.6.18.
func (c *conn) metaGet(tokens [][]byte, more bool) {
	var m protocol.Meta
	st := c.parseMeta(tokens, more, &m)
	if st == nil {
		return
	}
	c.noreply = m.Quiet
	var steps [protocol.MaxTokens]store.Step
	o := metaGetOptions(&m, &steps)
	got, val, found := st.GetWith(&o, c.scratch[:0])
	it := protocol.MetaItem(got)
	c.observeGet(m.Key, found, len(val))
	if m.LongOpaque >= 0 {
		c.write(protocol.RespMetaOpaque)
		return
	}
	if !found {
		c.scratch = protocol.AppendMetaFlags(append(val, protocol.RespEN...), &m, protocol.ShowMiss,
			&protocol.MetaItem{KeyBinary: m.Base64})
		c.reply(c.scratch)
		return
	}
	// The value sits at the start of scratch; the reply line goes after it
	// so neither needs a second buffer.
	n := len(val)
	line := val
	if m.Value {
		line = protocol.AppendUint(append(line, protocol.RespVA...), uint64(it.Size))
	} else {
		line = append(line, protocol.RespHD...)
	}
	c.scratch = protocol.AppendMetaFlags(line, &m, protocol.ShowGetHit, &it)
	c.write(c.scratch[n:])
	if m.Value {
		c.write(c.scratch[:n])
		c.write(protocol.RespCRLF)
	}
}

// metaSet serves ms, its data block taken in as the text storage commands'
// are (intake.go).
func (c *conn) metaSet(tokens [][]byte, more bool) error {
	var m protocol.Meta
	if e, swallow := protocol.ParseMeta(tokens, more, &m); e != nil {
		c.write(e)
		return c.swallow(swallow)
	}
	st := c.withStore()
	if st == nil {
		return c.swallow(m.DataLen + 2)
	}
	b := dataBlock{key: m.Key, flags: m.ClientFlags, exptime: int64(m.TTL), size: m.DataLen,
		mode: protocol.ModeSet, text: true}
	res, err := c.reserve(st, &b)
	if err != nil {
		c.storeError(err)
		return c.swallow(m.DataLen + 2)
	}
	// Reading the data block may overwrite the line the flags point into.
	kept := c.keepMeta(&m)
	b.key = m.Key
	o := metaSetOptions(&m)
	result, cas, err := c.fill(st, res, &b, m.StoreMode(), &o)
	if err != nil {
		return c.textBlockError(err)
	}
	c.noreply = m.Quiet
	// memcached answers NS when an append finds no memory, not an error.
	code := protocol.RespNS
	switch result {
	case store.Stored:
		code = protocol.RespHD
	case store.Exists:
		code = protocol.RespEX
	case store.NotFound:
		code = protocol.RespNF
	}
	c.scratch = protocol.AppendMetaFlags(append(c.scratch, code...), &m, protocol.ShowSet,
		&protocol.MetaItem{CAS: cas, KeyBinary: m.Base64})
	if result == store.Stored {
		c.reply(c.scratch[kept:])
	} else {
		c.write(c.scratch[kept:])
	}
	return nil
}

// keepMeta copies the key and the flag tokens of m into scratch and points
// m at the copies, returning how many bytes of scratch they take.
func (c *conn) keepMeta(m *protocol.Meta) int {
	c.scratch = append(c.scratch[:0], m.Key...)
	m.Key = c.scratch[:len(m.Key):len(m.Key)]
	for i, f := range m.Tokens {
		start := len(c.scratch)
		c.scratch = append(c.scratch, f...)
		m.Tokens[i] = c.scratch[start:len(c.scratch):len(c.scratch)]
	}
	// The slices taken before a reallocation still point at the old
	// array, which stays valid; only m's slices are read later.
	return len(c.scratch)
}

// metaDelete serves md. Quiet mode leaves out HD only.
func (c *conn) metaDelete(tokens [][]byte, more bool) {
	var m protocol.Meta
	st := c.parseMeta(tokens, more, &m)
	if st == nil {
		return
	}
	c.noreply = m.Quiet
	c.observeDelete(m.Key)
	o := metaDeleteOptions(&m)
	result := st.DeleteWith(&o)
	code := protocol.RespHD
	switch result {
	case store.NotFound:
		code = protocol.RespNF
	case store.Exists:
		code = protocol.RespEX
	}
	c.scratch = protocol.AppendMetaFlags(append(c.scratch[:0], code...), &m, protocol.ShowMiss,
		&protocol.MetaItem{KeyBinary: m.Base64})
	if result == store.Stored {
		c.reply(c.scratch)
	} else {
		c.write(c.scratch)
	}
}

// metaArith serves ma. Quiet mode leaves out the reply to a change of an
// existing counter only: memcached still answers for one N created.
func (c *conn) metaArith(tokens [][]byte, more bool) {
	var m protocol.Meta
	st := c.parseMeta(tokens, more, &m)
	if st == nil {
		return
	}
	var steps [protocol.MaxTokens]store.Step
	o := metaArithOptions(&m, &steps)
	out, v, got, err := st.ArithWith(&o)
	it := protocol.MetaItem(got)
	it.KeyBinary = m.Base64
	switch {
	case errors.Is(err, store.ErrNonNumeric):
		c.write(protocol.RespNonNumeric)
		return
	case err != nil && out == store.ArithCreated:
		c.write(protocol.RespMetaCreateMemory)
		return
	case err != nil:
		c.write(protocol.RespMetaArithMemory)
		return
	case m.LongOpaque >= 0:
		// memcached finds it while building the reply, after the change.
		c.write(protocol.RespMetaOpaque)
		return
	}
	b := c.scratch[:0]
	switch out {
	case store.ArithNotFound, store.ArithExists:
		code := protocol.RespNF
		if out == store.ArithExists {
			code = protocol.RespEX
		}
		c.scratch = protocol.AppendMetaFlags(append(b, code...), &m, protocol.ShowMiss,
			&protocol.MetaItem{KeyBinary: m.Base64})
		c.write(c.scratch)
		return
	}
	var digits [20]byte
	num := protocol.AppendUint(digits[:0], v)
	if m.Value {
		b = protocol.AppendUint(append(b, protocol.RespVA...), uint64(len(num)))
	} else {
		b = append(b, protocol.RespHD...)
	}
	b = protocol.AppendMetaFlags(b, &m, protocol.ShowArithOK, &it)
	if m.Value {
		b = append(append(b, num...), protocol.RespCRLF...)
	}
	c.scratch = b
	if out == store.ArithChanged && m.Quiet {
		return
	}
	c.write(b)
}

// metaDebug serves me: the item's metadata in memcached's words, without
// touching the item. Like memcached, it shows the key base64-encoded when
// the item was stored with b, whether or not this request used b.
func (c *conn) metaDebug(tokens [][]byte) {
	key, _, e := protocol.ParseMetaDebug(tokens)
	if e != nil {
		c.write(e)
		return
	}
	c.counts.meta.Add(1)
	st := c.withStore()
	if st == nil {
		return
	}
	it, itemBinary, now, ok := st.Peek(key)
	if !ok {
		c.write(protocol.RespENLine)
		return
	}
	exp := int32(-1)
	if it.Exptime != 0 {
		exp = int32(now - it.Exptime)
	}
	c.scratch = protocol.AppendMetaDebug(c.scratch[:0], key, itemBinary, exp,
		now-it.Atime, it.CAS, it.Fetched, it.Class, it.Size)
	c.write(c.scratch)
}
