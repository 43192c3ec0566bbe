package node

import "github.com/shoal-cache/shoal/protocol"

// metaCommand serves the meta commands (mg, ms, md, ma, mn, me).
func (c *conn) metaCommand(cmd byte, tokens [][]byte, rest []byte) error {
	c.s.stats.cmdMeta.Add(1)
	switch cmd {
	case 'n':
		c.write([]byte("MN\r\n"))
	default:
		c.write(protocol.RespError)
	}
	return nil
}
