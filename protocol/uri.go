package protocol

// AppendURIEncoded appends key as memcached's uriencode writes keys in
// lru_crawler metadump: letters, digits and -._~ stay, every other byte
// becomes %XX. Any key so written is printable ASCII without spaces, at
// most three times as long.
func AppendURIEncoded(b, key []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, ch := range key {
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9', ch == '-', ch == '.', ch == '_', ch == '~':
			b = append(b, ch)
		default:
			b = append(b, '%', hex[ch>>4], hex[ch&15])
		}
	}
	return b
}
