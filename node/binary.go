package node

// serveBinary serves a connection whose first byte was the binary
// protocol's request magic.
func (c *conn) serveBinary() error {
	return errClose
}
