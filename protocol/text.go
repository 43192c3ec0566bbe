package protocol

// Limits of the text protocol, as memcached 1.6 has them.
const (
	// MaxKeyLen is the longest key memcached accepts.
	MaxKeyLen = 250
	// MaxLineLen is how much a connection may send without a newline before
	// the server gives up on it (memcached closes the connection after 2048
	// bytes unless the line is a long multi-get).
	MaxLineLen = 2048
	// MaxTokens is the most tokens a command line is split into at once;
	// longer get lines are processed in batches, as memcached does.
	MaxTokens = 24
)

// Replies of the text protocol, the error replies among them, byte for byte
// as memcached sends them. They are Resp* because they are bytes to write,
// shared and never to be modified; Err* names are error values.
var (
	RespStored       = []byte("STORED\r\n")
	RespNotStored    = []byte("NOT_STORED\r\n")
	RespExists       = []byte("EXISTS\r\n")
	RespNotFound     = []byte("NOT_FOUND\r\n")
	RespDeleted      = []byte("DELETED\r\n")
	RespTouched      = []byte("TOUCHED\r\n")
	RespEnd          = []byte("END\r\n")
	RespOK           = []byte("OK\r\n")
	RespReset        = []byte("RESET\r\n")
	RespError        = []byte("ERROR\r\n")
	RespValue        = []byte("VALUE ")
	RespCRLF         = []byte("\r\n")
	RespBadFormat    = []byte("CLIENT_ERROR bad command line format\r\n")
	RespBadDataChunk = []byte("CLIENT_ERROR bad data chunk\r\n")
	RespTooLarge     = []byte("SERVER_ERROR object too large for cache\r\n")
	RespOutOfMemory  = []byte("SERVER_ERROR out of memory storing object\r\n")
	RespNonNumeric   = []byte("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
	RespBadDelta     = []byte("CLIENT_ERROR invalid numeric delta argument\r\n")
	RespBadExptime   = []byte("CLIENT_ERROR invalid exptime argument\r\n")
	RespDeleteUsage  = []byte("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")
	RespShutdownOff  = []byte("ERROR: shutdown not enabled\r\n")
	RespShutdownMode = []byte("CLIENT_ERROR invalid shutdown mode\r\n")
	RespBadStats     = []byte("CLIENT_ERROR bad command line\r\n")
	RespMemlimitLow  = []byte("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n")
	RespMemlimitUnit = []byte("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n")
	RespMemlimitFail = []byte("MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n")
)

// Tokens splits a command line (without its "\r\n") on spaces the way
// memcached's tokenizer does: runs of spaces separate tokens, and at most
// MaxTokens-1 tokens are returned. rest is what was left unsplit (the start
// of the next token onwards), empty when the whole line was consumed. The
// returned slices alias line; dst is reused to avoid allocating.
func Tokens(dst [][]byte, line []byte) (tokens [][]byte, rest []byte) {
	tokens = dst[:0]
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			break
		}
		if len(tokens) == MaxTokens-1 {
			return tokens, line[i:]
		}
		start := i
		for i < len(line) && line[i] != ' ' {
			i++
		}
		tokens = append(tokens, line[start:i])
	}
	return tokens, nil
}

// ValidKey reports whether k is a key memcached accepts on the text
// protocol: 1 to MaxKeyLen bytes (the tokenizer already excludes spaces).
func ValidKey(k []byte) bool {
	return len(k) > 0 && len(k) <= MaxKeyLen
}

// StoreMode says how a storage command treats an existing item.
type StoreMode uint8

// Storage modes, for the text, meta and binary protocols alike.
const (
	ModeSet StoreMode = iota
	ModeAdd
	ModeReplace
	ModeAppend
	ModePrepend
	ModeCAS
)

// StoreCommand is a parsed storage command line:
// <cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply].
type StoreCommand struct {
	Mode    StoreMode
	Key     []byte
	Flags   uint32
	Exptime int32
	Bytes   int
	CAS     uint64
	NoReply bool
}

// ParseStore parses the tokens of a storage command (tokens[0] is the
// command name) into cmd. It returns nil, or the exact error reply memcached
// sends. ERROR means the token count was wrong; no data block follows it
// as far as memcached is concerned.
func ParseStore(tokens [][]byte, mode StoreMode, cmd *StoreCommand) []byte {
	want := 5
	if mode == ModeCAS {
		want = 6
	}
	if len(tokens) != want && len(tokens) != want+1 {
		return RespError
	}
	*cmd = StoreCommand{Mode: mode, Key: tokens[1]}
	cmd.NoReply = string(tokens[len(tokens)-1]) == "noreply"
	if len(cmd.Key) > MaxKeyLen {
		return RespBadFormat
	}
	flags, ok1 := ParseUint32(tokens[2])
	exp, ok2 := ParseInt32(tokens[3])
	n, ok3 := ParseInt32(tokens[4])
	if !ok1 || !ok2 || !ok3 {
		return RespBadFormat
	}
	cmd.Flags, cmd.Exptime = flags, exp
	if mode == ModeCAS {
		cas, ok := ParseUint64(tokens[5])
		if !ok {
			return RespBadFormat
		}
		cmd.CAS = cas
	}
	if n < 0 || n > 1<<31-1-2 {
		return RespBadFormat
	}
	cmd.Bytes = int(n)
	return nil
}

// AppendValueHeader appends "VALUE <key> <flags> <bytes>[ <cas>]\r\n".
func AppendValueHeader(dst, key []byte, flags uint32, n int, cas uint64, withCAS bool) []byte {
	dst = append(dst, RespValue...)
	dst = append(dst, key...)
	dst = append(dst, ' ')
	dst = appendUint(dst, uint64(flags))
	dst = append(dst, ' ')
	dst = appendUint(dst, uint64(n))
	if withCAS {
		dst = append(dst, ' ')
		dst = appendUint(dst, cas)
	}
	return append(dst, RespCRLF...)
}

// appendUint is strconv.AppendUint for base 10, without its generality.
func appendUint(dst []byte, v uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for v >= 10 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	buf[i] = byte('0' + v)
	return append(dst, buf[i:]...)
}

// AppendUint appends v in decimal.
func AppendUint(dst []byte, v uint64) []byte { return appendUint(dst, v) }

// AppendStat appends "STAT <name> <value>\r\n".
func AppendStat(dst []byte, name, value string) []byte {
	dst = append(dst, "STAT "...)
	dst = append(dst, name...)
	dst = append(dst, ' ')
	dst = append(dst, value...)
	return append(dst, RespCRLF...)
}
