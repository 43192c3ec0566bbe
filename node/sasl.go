package node

import (
	"bytes"
	"io"

	"github.com/shoal-cache/shoal/protocol"
)

// SASL on the binary protocol, memcached's -S, with the PLAIN mechanism and
// credentials from a user:password file (memcached's MEMCACHED_SASL_PWDB),
// so no Cyrus SASL setup is needed. Until a connection authenticates, every
// command but the SASL ones and version is answered with an authentication
// error and the connection closed, as memcached does.

// maxSASLMech is memcached's MAX_SASL_MECH_LEN.
const maxSASLMech = 32

// saslMechs is what SASL list mechanisms answers.
const saslMechs = "PLAIN"

// saslAllowed reports whether op may run on a connection not yet
// authenticated.
func saslAllowed(op protocol.Opcode) bool {
	switch op {
	case protocol.OpSASLListMechs, protocol.OpSASLAuth, protocol.OpSASLStep, protocol.OpVersion:
		return true
	}
	return false
}

// binSASL serves the SASL opcodes when SASL is on.
func (c *conn) binSASL(req *binRequest) error {
	vlen := req.h.ValueLen()
	switch {
	case req.op == protocol.OpSASLListMechs:
		c.binReply(req, 0, nil, nil, []byte(saslMechs))
		return nil
	case len(req.key) > maxSASLMech:
		return c.binFail(req, protocol.StatusInvalidArgs, "", vlen)
	case vlen > maxAuthData:
		c.s.auth.count(false) // credentials that long match no entry
		return c.binFail(req, protocol.StatusAuthError, "", vlen)
	}
	var buf [maxAuthData]byte
	data := buf[:vlen]
	if err := c.flushBeforeWaiting(vlen); err != nil {
		return err
	}
	if _, err := io.ReadFull(c.r, data); err != nil {
		return err
	}
	// PLAIN is one step: a step without a started exchange fails, as
	// memcached's does.
	ok := req.op == protocol.OpSASLAuth && string(req.key) == "PLAIN" && c.checkPlain(data)
	c.s.auth.count(ok)
	if !ok {
		c.binError(req, protocol.StatusAuthError, "")
		return nil
	}
	c.authenticated = true
	c.binReply(req, 0, nil, nil, []byte("Authenticated"))
	return nil
}

// checkPlain checks a PLAIN message, "authzid NUL authcid NUL password"
// (RFC 4616); an authorization identity, if given, must be the user.
func (c *conn) checkPlain(msg []byte) bool {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 || len(parts[0]) != 0 && !bytes.Equal(parts[0], parts[1]) {
		return false
	}
	return c.s.auth.file.Load().Check(parts[1], parts[2])
}
