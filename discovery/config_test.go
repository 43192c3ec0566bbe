package discovery

import (
	"errors"
	"testing"
)

func TestGossipExposureNeedsKey(t *testing.T) {
	base := Config{Name: "n", Role: RoleNode, BindAddr: "127.0.0.1", IP: "127.0.0.1", Port: 11211, Timing: fastTiming()}
	tests := []struct {
		bind, advertise string
		key             []byte
		insecure, ok    bool
	}{
		{bind: "127.0.0.5", ok: true},
		{bind: "::1", ok: true},
		{bind: "0.0.0.0"},
		{bind: ""},
		{bind: "::"},
		{bind: "10.0.0.1"},
		{bind: "localhost"},
		{bind: "127.0.0.1", advertise: "10.0.0.1"},
		{bind: "127.0.0.1", advertise: "127.0.0.2", ok: true},
		{bind: "0.0.0.0", key: []byte("0123456789abcdef"), ok: true},
		{bind: "10.0.0.1", insecure: true, ok: true},
	}
	for _, tt := range tests {
		c := base
		c.BindAddr, c.AdvertiseAddr, c.SecretKey, c.Insecure = tt.bind, tt.advertise, tt.key, tt.insecure
		err := c.validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInsecureGossip)) {
			t.Errorf("bind %q advertise %q key %v insecure %v: %v", tt.bind, tt.advertise, tt.key != nil, tt.insecure, err)
		}
	}
}
