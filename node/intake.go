package node

import (
	"errors"

	"github.com/shoal-cache/shoal/node/internal/store"
	"github.com/shoal-cache/shoal/protocol"
)

// The storage-command intake, one for the three protocols: a data block is
// read straight into a chunk reserved for it, so a value is never buffered
// twice, and committed; a block that cannot be stored is thrown away
// unbuffered. The protocols parse their command into a dataBlock and map
// what comes back to their own replies.

// dataBlock is a storage command's value about to be read.
type dataBlock struct {
	key     []byte // may alias the read buffer: fill keeps what it needs
	flags   uint32
	exptime int64 // as sent
	size    int
	mode    protocol.StoreMode // the reservation's, and the name of its failure
	text    bool               // a text protocol block, ended by "\r\n"
}

// reserve allocates the chunk b is read into. When it cannot, it counts and
// reports why (store.ErrTooLarge or store.ErrOutOfMemory); the caller then
// answers and throws the block away.
func (c *conn) reserve(st *store.Store, b *dataBlock) (store.Reservation, error) {
	res, err := st.Reserve(b.key, b.flags, b.exptime, b.size, engineMode(b.mode))
	if err != nil {
		c.countStoreFailure(err)
		c.observeStore(b.key, b.mode, allocFailure(err), b.size, relativeTTL(b.exptime))
	}
	return res, err
}

// fill reads b into its reservation and commits it in mode, with the
// other options o gives, reporting the outcome to the observers. A joined value (append, prepend) that cannot
// be allocated is NotStored, as memcached has it, and is not counted as a
// failed allocation. An error is the connection's (errBadChunk for a text
// block not ended by "\r\n"); the reservation is then cancelled.
func (c *conn) fill(st *store.Store, res store.Reservation, b *dataBlock, mode protocol.StoreMode,
	o *store.SetOptions) (store.Result, uint64, error) {
	key := c.keepKey(b.key)
	if err := c.readBlock(st.Value(res), b.text); err != nil {
		st.Cancel(res)
		return store.NotStored, 0, err
	}
	o.Mode = engineMode(mode)
	result, cas, err := st.CommitWith(res, o)
	if err != nil {
		result = store.NotStored
	}
	c.observeStore(key, mode, storeStatus[result], b.size, relativeTTL(b.exptime))
	return result, cas, nil
}

// countStoreFailure counts an item that could not be allocated: too large
// for any class, or no memory for it.
func (c *conn) countStoreFailure(err error) {
	if errors.Is(err, store.ErrTooLarge) {
		c.s.stats.storeTooLarge.Add(1)
	} else {
		c.s.stats.storeNoMemory.Add(1)
	}
}

// storeError answers an item that could not be allocated, on the text
// protocol.
func (c *conn) storeError(err error) {
	if errors.Is(err, store.ErrTooLarge) {
		c.reply(protocol.RespTooLarge)
	} else {
		c.reply(protocol.RespOutOfMemory)
	}
}

// textBlockError answers a text block not ended by "\r\n", as memcached
// does; any other error ends the connection.
func (c *conn) textBlockError(err error) error {
	if errors.Is(err, errBadChunk) {
		c.reply(protocol.RespBadDataChunk)
		return nil
	}
	return err
}
