package node

import (
	"bytes"
	"errors"

	"go.uber.org/zap"

	"github.com/shoal-cache/shoal/node/internal/store"
	"github.com/shoal-cache/shoal/protocol"
)

// textCommand reads and runs one text-protocol command line.
func (c *conn) textCommand() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	c.noreply = false
	if !c.authenticated && c.s.auth.ascii() {
		return c.authenticate(line)
	}
	if c.s.verbosity.Load() >= 2 {
		c.s.log.Debug("command", zap.Uint64("conn", c.id), zap.String("line", string(line)))
	}
	tokens, rest := protocol.Tokens(c.tokens[:0], line)
	if len(tokens) == 0 || len(tokens[0]) < 2 {
		c.write(protocol.RespError)
		return nil
	}
	r := c.observeText(tokens, rest)
	err = c.runText(tokens, rest)
	c.observeDone(r)
	return err
}

// runText runs a tokenized command line.
func (c *conn) runText(tokens [][]byte, rest []byte) error {
	name := tokens[0]
	if name[0] == 'm' && len(name) == 2 {
		return c.metaCommand(name[1], tokens, rest)
	}
	switch string(name) {
	case "get", "bget":
		return c.get(tokens, rest, false, false)
	case "gets":
		return c.get(tokens, rest, true, false)
	case "gat":
		return c.get(tokens, rest, false, true)
	case "gats":
		return c.get(tokens, rest, true, true)
	case "set":
		return c.update(tokens, protocol.ModeSet)
	case "add":
		return c.update(tokens, protocol.ModeAdd)
	case "replace":
		return c.update(tokens, protocol.ModeReplace)
	case "append":
		return c.update(tokens, protocol.ModeAppend)
	case "prepend":
		return c.update(tokens, protocol.ModePrepend)
	case "cas":
		return c.update(tokens, protocol.ModeCAS)
	case "incr":
		c.arith(tokens, true)
	case "decr":
		c.arith(tokens, false)
	case "delete":
		c.delete(tokens)
	case "touch":
		c.touch(tokens)
	case "flush_all":
		c.flushAll(tokens)
	case "version":
		c.write([]byte("VERSION " + ProtocolVersion + "\r\n"))
	case "verbosity":
		c.verbosity(tokens)
	case "quit":
		return errClose
	case "stats":
		c.stats(tokens)
	case "config":
		c.config(tokens)
	case "cache_memlimit":
		c.cacheMemlimit(tokens)
	case "shutdown":
		c.shutdown(tokens)
	case "refresh_certs":
		c.refreshCerts(tokens)
	case "lru_crawler":
		c.lruCrawler(tokens)
	case "watch":
		return c.watch(tokens)
	case "slabs":
		c.slabs(tokens)
	default:
		return c.unknownCommand(tokens)
	}
	return nil
}

// unknownCommand answers ERROR, or closes the connection without a word
// when the line is an HTTP request ("GET / HTTP/1.1"), as memcached does, so
// that a web page made to send requests here cannot talk to the cache.
func (c *conn) unknownCommand(tokens [][]byte) error {
	if len(tokens) >= 2 && bytes.HasPrefix(tokens[len(tokens)-1], []byte("HTTP/")) {
		return errClose
	}
	c.write(protocol.RespError)
	return nil
}

// setNoreply applies memcached's rule: a last token "noreply" silences the
// command's reply.
func (c *conn) setNoreply(tokens [][]byte) {
	c.noreply = string(tokens[len(tokens)-1]) == "noreply"
}

// withStore is the server's store; on a configuration endpoint, which has
// none, it answers the storage command with an error and returns nil.
func (c *conn) withStore() *store.Store {
	if c.s.store == nil {
		c.reply([]byte("SERVER_ERROR no storage on a configuration endpoint\r\n"))
	}
	return c.s.store
}

// get serves get, gets, gat and gats for any number of keys.
func (c *conn) get(tokens [][]byte, rest []byte, withCAS, touch bool) error {
	if len(tokens) < 2 {
		c.write(protocol.RespError)
		return nil
	}
	keys := tokens[1:]
	var exptime int64
	if touch {
		exp, ok := protocol.ParseInt32(tokens[1])
		if !ok {
			c.write(protocol.RespBadExptime)
			return nil
		}
		exptime, keys = int64(exp), tokens[2:]
	}
	if anyKeyTooLong(keys, rest) {
		c.write(protocol.RespBadFormat)
		return nil
	}
	for {
		for _, key := range keys {
			c.getOne(key, withCAS, touch, exptime)
		}
		if len(rest) == 0 {
			break
		}
		keys, rest = protocol.Tokens(c.tokens[:0], rest)
	}
	c.write(protocol.RespEnd)
	return nil
}

// anyKeyTooLong checks every key of a get before any value is sent:
// memcached answers only the error when one key is too long, dropping the
// values it had found for the others.
func anyKeyTooLong(keys [][]byte, rest []byte) bool {
	for _, k := range keys {
		if len(k) > protocol.MaxKeyLen {
			return true
		}
	}
	n := 0
	for _, b := range rest {
		if b == ' ' {
			n = 0
		} else if n++; n > protocol.MaxKeyLen {
			return true
		}
	}
	return false
}

func (c *conn) getOne(key []byte, withCAS, touch bool, exptime int64) {
	if body, ok := c.legacyClusterConfig(key); ok {
		c.scratch = protocol.AppendValueHeader(c.scratch[:0], key, 0, len(body), 0, withCAS)
		c.scratch = append(append(c.scratch, body...), protocol.RespCRLF...)
		c.write(c.scratch)
		return
	}
	st := c.s.store
	if st == nil {
		return
	}
	it, val, ok := st.Get(key, c.scratch[:0], touch, exptime)
	c.observeGet(key, ok, len(val))
	if !ok {
		return
	}
	n := len(val)
	// The value sits at the start of scratch; the header goes after it so
	// neither needs a second buffer.
	c.scratch = protocol.AppendValueHeader(val, key, it.Flags, n, it.CAS, withCAS)
	c.write(c.scratch[n:])
	c.write(val)
	c.write(protocol.RespCRLF)
}

// update serves the storage commands (intake.go).
func (c *conn) update(tokens [][]byte, mode protocol.StoreMode) error {
	var cmd protocol.StoreCommand
	if errReply := protocol.ParseStore(tokens, mode, &cmd); errReply != nil {
		if len(tokens) > 1 {
			c.setNoreply(tokens)
		}
		c.reply(errReply)
		return nil
	}
	c.noreply = cmd.NoReply
	st := c.withStore()
	if st == nil {
		return c.swallow(cmd.Bytes + 2)
	}
	b := dataBlock{key: cmd.Key, flags: cmd.Flags, exptime: int64(cmd.Exptime), size: cmd.Bytes,
		mode: mode, text: true}
	res, err := c.reserve(st, &b)
	if err != nil {
		c.storeError(err)
		return c.swallow(cmd.Bytes + 2)
	}
	o := store.SetOptions{CAS: cmd.CAS}
	result, _, err := c.fill(st, res, &b, mode, &o)
	if err != nil {
		return c.textBlockError(err)
	}
	c.reply(resultReply(result))
	return nil
}

func resultReply(r store.Result) []byte {
	switch r {
	case store.Stored:
		return protocol.RespStored
	case store.Exists:
		return protocol.RespExists
	case store.NotFound:
		return protocol.RespNotFound
	default:
		return protocol.RespNotStored
	}
}

// keyArgLine checks a "<command> <key> <arg> [noreply]" line, answering
// ERROR for the wrong number of tokens and a format error for a long key.
func (c *conn) keyArgLine(tokens [][]byte) bool {
	if len(tokens) != 3 && len(tokens) != 4 {
		c.write(protocol.RespError)
		return false
	}
	c.setNoreply(tokens)
	if len(tokens[1]) > protocol.MaxKeyLen {
		c.reply(protocol.RespBadFormat)
		return false
	}
	return true
}

func (c *conn) arith(tokens [][]byte, incr bool) {
	if !c.keyArgLine(tokens) {
		return
	}
	delta, ok := protocol.ParseUint64(tokens[2])
	if !ok {
		c.reply(protocol.RespBadDelta)
		return
	}
	st := c.withStore()
	if st == nil {
		return
	}
	v, _, found, err := st.Arith(tokens[1], incr, delta)
	switch {
	case errors.Is(err, store.ErrNonNumeric):
		c.reply(protocol.RespNonNumeric)
	case err != nil:
		c.countStoreFailure(err)
		c.storeError(err)
	case !found:
		c.reply(protocol.RespNotFound)
	default:
		c.scratch = append(protocol.AppendUint(c.scratch[:0], v), protocol.RespCRLF...)
		c.reply(c.scratch)
	}
}

func (c *conn) delete(tokens [][]byte) {
	if len(tokens) < 2 || len(tokens) > 4 {
		c.write(protocol.RespError)
		return
	}
	if len(tokens) > 2 {
		holdZero := string(tokens[2]) == "0"
		c.setNoreply(tokens)
		valid := (len(tokens) == 3 && (holdZero || c.noreply)) || (len(tokens) == 4 && holdZero && c.noreply)
		if !valid {
			c.reply(protocol.RespDeleteUsage)
			return
		}
	}
	if len(tokens[1]) > protocol.MaxKeyLen {
		c.reply(protocol.RespBadFormat)
		return
	}
	st := c.withStore()
	if st == nil {
		return
	}
	c.observeDelete(tokens[1])
	if st.Delete(tokens[1]) {
		c.reply(protocol.RespDeleted)
	} else {
		c.reply(protocol.RespNotFound)
	}
}

func (c *conn) touch(tokens [][]byte) {
	if !c.keyArgLine(tokens) {
		return
	}
	exp, ok := protocol.ParseInt32(tokens[2])
	if !ok {
		c.reply(protocol.RespBadExptime)
		return
	}
	st := c.withStore()
	if st == nil {
		return
	}
	if st.Touch(tokens[1], int64(exp)) {
		c.reply(protocol.RespTouched)
	} else {
		c.reply(protocol.RespNotFound)
	}
}

func (c *conn) flushAll(tokens [][]byte) {
	if len(tokens) > 3 {
		c.write(protocol.RespError)
		return
	}
	c.setNoreply(tokens)
	c.s.stats.cmdFlush.Add(1)
	if !c.adminAllowed("flush_all") {
		return
	}
	var delay int32
	if len(tokens) == 3 || (len(tokens) == 2 && !c.noreply) {
		d, ok := protocol.ParseInt32(tokens[1])
		if !ok {
			c.reply(protocol.RespBadExptime)
			return
		}
		delay = d
	}
	if st := c.s.store; st != nil {
		st.FlushAll(int64(delay))
	}
	c.reply(protocol.RespOK)
}

func (c *conn) verbosity(tokens [][]byte) {
	if len(tokens) != 2 && len(tokens) != 3 {
		c.write(protocol.RespError)
		return
	}
	c.setNoreply(tokens)
	if !c.adminAllowed("verbosity") {
		return
	}
	level, ok := protocol.ParseUint32(tokens[1])
	if !ok {
		c.reply(protocol.RespBadFormat)
		return
	}
	c.s.setVerbosity(level)
	c.reply(protocol.RespOK)
}

func (c *conn) cacheMemlimit(tokens [][]byte) {
	if len(tokens) != 2 && len(tokens) != 3 {
		c.write(protocol.RespError)
		return
	}
	c.setNoreply(tokens)
	if !c.adminAllowed("cache_memlimit") {
		return
	}
	mb, ok := protocol.ParseUint32(tokens[1])
	switch {
	case !ok:
		c.reply(protocol.RespError)
	case mb < 8:
		c.reply(protocol.RespMemlimitLow)
	case mb > 1000000000:
		c.reply(protocol.RespMemlimitUnit)
	case c.s.store == nil || !c.s.store.SetMemoryLimit(int64(mb)<<20):
		c.reply(protocol.RespMemlimitFail)
	default:
		c.reply(protocol.RespOK)
	}
}

func (c *conn) shutdown(tokens [][]byte) {
	if !c.adminAllowed("shutdown") {
		return
	}
	switch {
	case !c.s.cfg.EnableShutdown:
		c.write(protocol.RespShutdownOff)
	case len(tokens) == 1:
		c.s.shutdownCommand(false)
	case len(tokens) == 2 && string(tokens[1]) == "graceful":
		c.s.shutdownCommand(true)
	default:
		c.write(protocol.RespShutdownMode)
	}
}

// config serves ElastiCache's `config get <key>`.
func (c *conn) config(tokens [][]byte) {
	if len(tokens) != 3 || string(tokens[1]) != "get" {
		c.write(protocol.RespError)
		return
	}
	c.s.stats.cmdConfigGet.Add(1)
	cc := c.s.clusterConfig()
	if cc == nil {
		c.write(protocol.RespEnd)
		return
	}
	body, ok := cc.ClusterConfig(string(tokens[2]))
	if !ok {
		c.write(protocol.RespEnd)
		return
	}
	c.scratch = protocol.AppendConfigReply(c.scratch[:0], string(tokens[2]), body)
	c.write(c.scratch)
}

// legacyClusterConfig answers `get AmazonElastiCache:cluster`, the
// discovery request of clients older than ElastiCache 1.4.14.
func (c *conn) legacyClusterConfig(key []byte) ([]byte, bool) {
	if len(key) != len(protocol.LegacyClusterKey) || string(key) != protocol.LegacyClusterKey {
		return nil, false
	}
	cc := c.s.clusterConfig()
	if cc == nil {
		return nil, false
	}
	c.s.stats.cmdConfigGet.Add(1)
	return cc.ClusterConfig(protocol.ClusterKey)
}
