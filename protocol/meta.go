package protocol

import (
	"encoding/base64"
	"math"
	"strings"
)

// Limits of the meta commands, as memcached 1.6 has them.
const (
	// maxMetaTokens is the most tokens a meta command may have, counting
	// the command, the key and memcached's terminal token.
	maxMetaTokens = 20
	// MaxOpaqueLen is the longest O (opaque) token, its "O" included.
	MaxOpaqueLen = 32
)

// Replies of the meta commands, the error replies among them, byte for byte
// as memcached 1.6.18 sends them (Resp*, as the text protocol's).
var (
	RespHD = []byte("HD")
	RespVA = []byte("VA ")
	RespEN = []byte("EN")
	// RespENLine is a whole miss reply, for me.
	RespENLine = []byte("EN\r\n")
	RespNF     = []byte("NF")
	RespNS     = []byte("NS")
	RespEX     = []byte("EX")
	RespMN     = []byte("MN\r\n")
	RespME     = []byte("ME ")

	RespMetaDuplicate    = []byte("CLIENT_ERROR duplicate flag\r\n")
	RespMetaInvalidFlag  = []byte("CLIENT_ERROR invalid flag\r\n")
	RespMetaBadToken     = []byte("CLIENT_ERROR bad token in command line format\r\n")
	RespMetaKeyDecode    = []byte("CLIENT_ERROR error decoding key\r\n")
	RespMetaModeLength   = []byte("CLIENT_ERROR incorrect length for M token\r\n")
	RespMetaInitial      = []byte("CLIENT_ERROR invalid numeric initial value\r\n")
	RespMetaDelta        = []byte("CLIENT_ERROR invalid numeric delta value\r\n")
	RespMetaOpaque       = []byte("CLIENT_ERROR opaque token too long\r\n")
	RespMetaGetTooLong   = []byte("CLIENT_ERROR options flags are too long\r\n")
	RespMetaTooLong      = []byte("CLIENT_ERROR options flags too long\r\n")
	RespMetaInvalidOrDup = []byte("CLIENT_ERROR invalid or duplicate flag\r\n")
	RespMetaSetMode      = []byte("CLIENT_ERROR invalid mode for ms M token\r\n")
	RespMetaArithMode    = []byte("CLIENT_ERROR invalid mode for ma M token\r\n")
	RespMetaArithMemory  = []byte("SERVER_ERROR out of memory\r\n")
	RespMetaCreateMemory = []byte("SERVER_ERROR Out of memory allocating new item\r\n")
)

// Meta is a parsed mg, ms, md or ma command: its key, its flags in the order
// they were sent, and the values of the flags that carry one.
type Meta struct {
	Cmd     byte     // 'g', 's', 'd' or 'a'
	Key     []byte   // decoded in place when Base64 is set
	Tokens  [][]byte // the flag tokens as sent; they alias the command line
	DataLen int      // ms: length of the data block, without its "\r\n"

	Base64      bool   // b: the key was sent base64-encoded
	Quiet       bool   // q: leave out the nominal reply
	NoBump      bool   // u: leave the item's LRU position and hit state alone
	Value       bool   // v: return the value
	Invalidate  bool   // I: mark stale instead of deleting, or store stale
	Vivify      bool   // N: create the item on a miss
	HasTTL      bool   // T was given
	HasRecache  bool   // R was given
	HasCAS      bool   // C was given
	HasNewCAS   bool   // E was given
	TTL         int32  // T: new exptime
	VivifyTTL   int32  // N: exptime of an item created on a miss
	RecacheTTL  int32  // R: win the recache token below this TTL
	ClientFlags uint32 // F: client flags to store
	CAS         uint64 // C: CAS to compare against
	NewCAS      uint64 // E: CAS to give the item it changes
	Mode        byte   // M: the mode letter, 0 when not given
	Delta       uint64 // D: 1 unless given
	Initial     uint64 // J

	// LongOpaque is the index in Tokens of an O token longer than
	// MaxOpaqueLen, or -1. mg and ma find it while building their reply,
	// after acting on the flags before it, and then answer RespMetaOpaque;
	// ms and md refuse it while parsing.
	LongOpaque int
}

// ParseMeta parses the tokens of an mg, ms, md or ma command line (tokens[0]
// is the command). more reports that the line had more tokens than were
// split. It returns nil, or the exact error reply memcached sends; for ms,
// swallow is then how many bytes of data block to read and throw away (0
// when memcached treats what follows as the next command). The key and flag
// tokens are left aliasing tokens; a base64 key is decoded in place.
func ParseMeta(tokens [][]byte, more bool, m *Meta) (errReply []byte, swallow int) {
	if len(tokens) < 2 {
		return RespError, 0
	}
	*m = Meta{Cmd: tokens[0][1], Key: tokens[1], Delta: 1, LongOpaque: -1}
	if len(m.Key) > MaxKeyLen {
		return RespBadFormat, 0
	}
	first := 2
	if m.Cmd == 's' {
		if len(tokens) == 2 {
			return RespBadFormat, 0
		}
		first = 3
	}
	if more || len(tokens)+1 > maxMetaTokens {
		if m.Cmd == 'g' {
			return RespMetaGetTooLong, 0
		}
		return RespMetaTooLong, 0
	}
	if m.Cmd == 's' {
		n, ok := ParseInt32(tokens[2])
		if !ok || n < 0 || n > math.MaxInt32-2 {
			return RespBadFormat, 0
		}
		m.DataLen, swallow = int(n), int(n)+2
	}
	m.Tokens = tokens[first:]
	if e := m.parseFlags(); e != nil {
		if m.Cmd == 'd' || m.Cmd == 'a' {
			e = RespMetaInvalidOrDup
		}
		return e, swallow
	}
	switch m.Cmd {
	case 's':
		if e := m.checkSet(); e != nil {
			return e, swallow
		}
	case 'd':
		if m.LongOpaque >= 0 {
			return RespMetaOpaque, 0
		}
	case 'a':
		switch m.Mode {
		case 0, 'I', '+', 'D', '-':
		default:
			return RespMetaArithMode, 0
		}
	}
	return nil, 0
}

// parseFlags reads the flag tokens as memcached's _meta_flag_preparse does:
// a repeated or unknown flag stops it at once; a bad value is remembered
// (the last one's message wins) and parsing goes on.
func (m *Meta) parseFlags() []byte {
	var seen [2]uint64
	var errReply []byte
	for i, tok := range m.Tokens {
		o := tok[0]
		if o >= 127 || seen[o>>6]&(1<<(o&63)) != 0 {
			return RespMetaDuplicate
		}
		seen[o>>6] |= 1 << (o & 63)
		arg := tok[1:]
		var ok bool
		switch o {
		case 'b':
			n := decodeBase64(m.Key, m.Key)
			if n == 0 {
				errReply = RespMetaKeyDecode
			}
			m.Key, m.Base64 = m.Key[:n], true
		case 'N':
			m.Vivify = true
			if m.VivifyTTL, ok = ParseInt32(arg); !ok {
				errReply = RespMetaBadToken
			}
		case 'T':
			if m.TTL, ok = ParseInt32(arg); !ok {
				errReply = RespMetaBadToken
			}
			m.HasTTL = ok
		case 'R':
			if m.RecacheTTL, ok = ParseInt32(arg); !ok {
				errReply = RespMetaBadToken
			}
			m.HasRecache = ok
		case 'O':
			if len(tok) > MaxOpaqueLen && m.LongOpaque < 0 {
				m.LongOpaque = i
			}
		case 'P', 'L', 'k', 's', 't', 'c', 'f', 'l', 'h':
		case 'v':
			m.Value = true
		case 'u':
			m.NoBump = true
		case 'q':
			m.Quiet = true
		case 'F':
			if m.ClientFlags, ok = ParseUint32(arg); !ok {
				errReply = orDefault(errReply)
			}
		case 'C':
			if m.CAS, ok = ParseUint64(arg); !ok {
				errReply = RespMetaBadToken
			}
			m.HasCAS = ok
		case 'E':
			if m.NewCAS, ok = ParseUint64(arg); !ok {
				errReply = RespMetaBadToken
			}
			m.HasNewCAS = ok
		case 'M':
			if len(tok) != 2 {
				errReply = RespMetaModeLength
			} else {
				m.Mode = tok[1]
			}
		case 'J':
			if m.Initial, ok = ParseUint64(arg); !ok {
				errReply = RespMetaInitial
			}
		case 'D':
			if m.Delta, ok = ParseUint64(arg); !ok {
				errReply = RespMetaDelta
			}
		case 'I':
			m.Invalidate = true
		default:
			return RespMetaInvalidFlag
		}
	}
	return errReply
}

// orDefault is the message of a bad F value: memcached sets no message of
// its own for it, so the command's default, or an earlier flag's, stands.
func orDefault(e []byte) []byte {
	if e == nil {
		return RespBadFormat
	}
	return e
}

// checkSet finishes checking ms after its flags parsed: an invalid mode is
// reported before a long opaque, as memcached checks them in that order.
func (m *Meta) checkSet() []byte {
	switch m.Mode {
	case 0, 'E', 'A', 'P', 'R', 'S':
	default:
		return RespMetaSetMode
	}
	if m.LongOpaque >= 0 {
		return RespMetaOpaque
	}
	return nil
}

// StoreMode is how ms stores: its M mode, upgraded to a CAS store when a C
// flag comes with set or replace, as memcached does (add ignores C; append
// and prepend compare it themselves).
func (m *Meta) StoreMode() StoreMode {
	mode := ModeSet
	switch m.Mode {
	case 'E':
		mode = ModeAdd
	case 'A':
		mode = ModeAppend
	case 'P':
		mode = ModePrepend
	case 'R':
		mode = ModeReplace
	}
	if m.HasCAS && (mode == ModeSet || mode == ModeReplace) {
		mode = ModeCAS
	}
	return mode
}

// Incr reports whether ma increments (the default) rather than decrements.
func (m *Meta) Incr() bool { return m.Mode != 'D' && m.Mode != '-' }

// ParseMetaDebug parses `me <key> [b]`, returning the key (decoded in place
// with b) or memcached's error reply.
func ParseMetaDebug(tokens [][]byte) (key []byte, binary bool, errReply []byte) {
	if len(tokens) < 2 || len(tokens[1]) > MaxKeyLen {
		return nil, false, RespBadFormat
	}
	key = tokens[1]
	if len(tokens) >= 3 && len(tokens[2]) == 1 && tokens[2][0] == 'b' {
		n := decodeBase64(key, key)
		if n == 0 {
			return nil, false, RespBadFormat
		}
		return key[:n], true, nil
	}
	return key, false, nil
}

// MetaItem is what a meta reply can report about an item.
type MetaItem struct {
	Size       int    // s, and the length in "VA <size>"
	Flags      uint32 // f
	CAS        uint64 // c
	TTL        int64  // t: seconds left, -1 when it never expires
	LastAccess uint32 // l: seconds since the item was last accessed
	Fetched    bool   // h: it had been read before
	KeyBinary  bool   // k shows the key base64-encoded, followed by b
	TokenSent  bool   // Z: another client already won the recache token
	Stale      bool   // X: the item was invalidated
	Won        bool   // W: this client won the recache token
}

// The return flags each meta reply shows, as memcached's reply loops do.
const (
	ShowGetHit  = "stcflhOk" // mg on a hit
	ShowMiss    = "Ok"       // mg miss, md, and ma without an item
	ShowSet     = "Okc"      // ms
	ShowArithOK = "ctOk"     // ma with an item
)

// AppendMetaFlags appends the return flags of m that are in show, in the
// order they were sent, then Z, X and W as it says, and "\r\n".
func AppendMetaFlags(dst []byte, m *Meta, show string, it *MetaItem) []byte {
	for _, f := range m.Tokens {
		if strings.IndexByte(show, f[0]) < 0 {
			continue
		}
		switch f[0] {
		case 's':
			dst = appendMetaUint(dst, 's', uint64(it.Size))
		case 't':
			if it.TTL < 0 {
				dst = append(dst, " t-1"...)
			} else {
				dst = appendMetaUint(dst, 't', uint64(it.TTL))
			}
		case 'c':
			dst = appendMetaUint(dst, 'c', it.CAS)
		case 'f':
			dst = appendMetaUint(dst, 'f', uint64(it.Flags))
		case 'l':
			dst = appendMetaUint(dst, 'l', uint64(it.LastAccess))
		case 'h':
			h := uint64(0)
			if it.Fetched {
				h = 1
			}
			dst = appendMetaUint(dst, 'h', h)
		case 'O':
			dst = append(append(dst, ' '), f...)
		case 'k':
			dst = AppendMetaKey(dst, m.Key, it.KeyBinary)
		}
	}
	if it.TokenSent {
		dst = append(dst, " Z"...)
	}
	if it.Stale {
		dst = append(dst, " X"...)
	}
	if it.Won {
		dst = append(dst, " W"...)
	}
	return append(dst, RespCRLF...)
}

func appendMetaUint(dst []byte, flag byte, v uint64) []byte {
	return appendUint(append(dst, ' ', flag), v)
}

// AppendMetaKey appends " k<key>", or " k<base64 key> b" for a binary key.
func AppendMetaKey(dst, key []byte, binary bool) []byte {
	dst = append(dst, " k"...)
	if !binary {
		return append(dst, key...)
	}
	return append(base64.StdEncoding.AppendEncode(dst, key), " b"...)
}

// AppendMetaDebug appends me's reply:
// "ME <key> exp=<e> la=<l> cas=<c> fetch=<yes|no> cls=<id> size=<n>\r\n".
// exp is memcached's: -1 for no expiry, else now minus the expiry time
// (so negative while the item lives).
func AppendMetaDebug(dst, key []byte, binary bool, exp int32, la uint32, cas uint64, fetched bool, cls, size int) []byte {
	dst = append(dst, RespME...)
	if binary {
		dst = base64.StdEncoding.AppendEncode(dst, key)
	} else {
		dst = append(dst, key...)
	}
	dst = append(dst, " exp="...)
	if exp < 0 {
		dst = append(dst, '-')
		dst = appendUint(dst, uint64(-int64(exp)))
	} else {
		dst = appendUint(dst, uint64(exp))
	}
	dst = appendUint(append(dst, " la="...), uint64(la))
	dst = appendUint(append(dst, " cas="...), cas)
	if fetched {
		dst = append(dst, " fetch=yes"...)
	} else {
		dst = append(dst, " fetch=no"...)
	}
	dst = appendUint(append(dst, " cls="...), uint64(cls))
	dst = appendUint(append(dst, " size="...), uint64(size))
	return append(dst, RespCRLF...)
}

// base64Decode maps each byte to its 6-bit value, '=' to 0, and anything
// else to 0x80 (skipped), as memcached's table does.
var base64Decode = func() (t [256]byte) {
	for i := range t {
		t[i] = 0x80
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	t['='] = 0
	return t
}()

// decodeBase64 decodes src into dst, which may be src itself, exactly as
// memcached's base64_decode does: bytes outside the alphabet are skipped,
// decoding ends after the first padded quantum, and 0 means failure. Keys
// must decode the same way on both servers, or a client would see a key
// memcached accepts refused, or read another key than it stored.
func decodeBase64(dst, src []byte) int {
	count := 0
	for _, c := range src {
		if base64Decode[c] != 0x80 {
			count++
		}
	}
	if count == 0 || count%4 != 0 || count/4*3 > len(dst) {
		return 0
	}
	var block [4]byte
	pos, n, pad := 0, 0, 0
	for _, c := range src {
		v := base64Decode[c]
		if v == 0x80 {
			continue
		}
		if c == '=' {
			pad++
		}
		block[n] = v
		n++
		if n < 4 {
			continue
		}
		dst[pos] = block[0]<<2 | block[1]>>4
		dst[pos+1] = block[1]<<4 | block[2]>>2
		dst[pos+2] = block[2]<<6 | block[3]
		pos += 3
		n = 0
		if pad > 0 {
			if pad > 2 {
				return 0
			}
			return pos - pad
		}
	}
	return pos
}
