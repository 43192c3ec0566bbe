package discovery

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
)

// Gossip key rotation without a restart, as Serf and Consul do it, through
// memberlist's keyring. A key file holds one base64 key per line: the first
// encrypts what the member sends, the others are still accepted. Rotating
// is three edits of the file on every member, each followed by SIGHUP
// (Member.SetKeys) everywhere before the next:
//
//  1. old, new: every member accepts the new key;
//  2. new, old: every member sends with it;
//  3. new: the old key is refused from then on.

// ReadKeyFile reads a key file: the primary key, then the others.
func ReadKeyFile(path string) (primary []byte, others [][]byte, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("discovery: gossip key file: %w", err)
	}
	var keys [][]byte
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			return nil, nil, fmt.Errorf("discovery: gossip key file %s, line %d: %w", path, n+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, nil, fmt.Errorf("discovery: gossip key file %s holds no key", path)
	}
	if err := checkKeys(keys[0], keys[1:]); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys[0], keys[1:], nil
}

func checkKeys(primary []byte, others [][]byte) error {
	if len(others) != 0 && len(primary) == 0 {
		return errors.New("discovery: other gossip keys without a primary key")
	}
	for _, k := range append([][]byte{primary}, others...) {
		if n := len(k); n != 0 && n != 16 && n != 24 && n != 32 {
			return fmt.Errorf("discovery: gossip key of %d bytes; want 16, 24 or 32", n)
		}
	}
	return nil
}

// SetKeys makes primary the key the member sends with and others the only
// other keys it accepts. A member that started without a key cannot take
// one: its gossip would stop matching the cluster's.
func (m *Member) SetKeys(primary []byte, others [][]byte) error {
	if err := checkKeys(primary, others); err != nil {
		return err
	}
	ring := m.keyring
	if ring == nil || len(primary) == 0 {
		return errors.New("discovery: this member gossips without a key; restart it with one")
	}
	for _, k := range append([][]byte{primary}, others...) {
		if err := ring.AddKey(k); err != nil {
			return fmt.Errorf("discovery: installing a gossip key: %w", err)
		}
	}
	if err := ring.UseKey(primary); err != nil {
		return fmt.Errorf("discovery: using the gossip key: %w", err)
	}
	for _, k := range ring.GetKeys() {
		if !bytes.Equal(k, primary) && !containsKey(others, k) {
			if err := ring.RemoveKey(k); err != nil {
				return fmt.Errorf("discovery: removing a gossip key: %w", err)
			}
		}
	}
	return nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, o := range keys {
		if bytes.Equal(o, k) {
			return true
		}
	}
	return false
}

// ReloadKeys reads Config.KeyFile again and puts its keys in force (on
// SIGHUP); without a key file it does nothing. On error the keys in force
// stay.
func (m *Member) ReloadKeys() error {
	if m.cfg.KeyFile == "" {
		return nil
	}
	primary, others, err := ReadKeyFile(m.cfg.KeyFile)
	if err != nil {
		return err
	}
	return m.SetKeys(primary, others)
}
