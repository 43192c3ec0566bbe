package node

import (
	"github.com/shoal-cache/shoal/node/internal/store"
	"github.com/shoal-cache/shoal/protocol"
)

// The mapping of parsed requests to the storage engine's calls: the engine
// knows nothing of the protocols, so their modes and meta flags are
// translated here.

// engineModes maps a protocol's storage mode to the engine's.
var engineModes = [...]store.Mode{
	protocol.ModeSet:     store.ModeSet,
	protocol.ModeAdd:     store.ModeAdd,
	protocol.ModeReplace: store.ModeReplace,
	protocol.ModeAppend:  store.ModeAppend,
	protocol.ModePrepend: store.ModePrepend,
	protocol.ModeCAS:     store.ModeCAS,
}

func engineMode(m protocol.StoreMode) store.Mode { return engineModes[m] }

// metaSteps appends the engine steps of m's flags that depend on their
// order (T, N, R and t), up to a long opaque where mg and ma stop.
func metaSteps(dst []store.Step, m *protocol.Meta) []store.Step {
	end := len(m.Tokens)
	if m.LongOpaque >= 0 {
		end = m.LongOpaque
	}
	for _, f := range m.Tokens[:end] {
		switch f[0] {
		case 'T':
			dst = append(dst, store.StepTouch)
		case 'N':
			dst = append(dst, store.StepVivify)
		case 'R':
			dst = append(dst, store.StepRecache)
		case 't':
			dst = append(dst, store.StepReportTTL)
		}
	}
	return dst
}

// metaGetOptions are mg's engine options; steps is their backing array.
func metaGetOptions(m *protocol.Meta, steps *[protocol.MaxTokens]store.Step) store.GetOptions {
	return store.GetOptions{Key: m.Key, Steps: metaSteps(steps[:0], m),
		TTL: int64(m.TTL), VivifyTTL: int64(m.VivifyTTL), RecacheTTL: int64(m.RecacheTTL),
		Vivify: m.Vivify, NoBump: m.NoBump, Value: m.Value, Partial: m.LongOpaque >= 0,
		NewCAS: m.NewCAS, HasNewCAS: m.HasNewCAS}
}

// metaSetOptions are ms's engine options.
func metaSetOptions(m *protocol.Meta) store.SetOptions {
	return store.SetOptions{Mode: engineMode(m.StoreMode()), CAS: m.CAS, KeyBinary: m.Base64,
		Invalidate: m.Invalidate, NewCAS: m.NewCAS, HasNewCAS: m.HasNewCAS}
}

// metaDeleteOptions are md's engine options.
func metaDeleteOptions(m *protocol.Meta) store.DeleteOptions {
	return store.DeleteOptions{Key: m.Key, CAS: m.CAS, HasCAS: m.HasCAS, Invalidate: m.Invalidate,
		TTL: int64(m.TTL), HasTTL: m.HasTTL, NewCAS: m.NewCAS, HasNewCAS: m.HasNewCAS}
}

// metaArithOptions are ma's engine options; steps is their backing array.
func metaArithOptions(m *protocol.Meta, steps *[protocol.MaxTokens]store.Step) store.ArithOptions {
	return store.ArithOptions{Key: m.Key, Incr: m.Incr(), Delta: m.Delta, Vivify: m.Vivify,
		Initial: m.Initial, CAS: m.CAS, NewCAS: m.NewCAS, HasNewCAS: m.HasNewCAS,
		Steps: metaSteps(steps[:0], m), TTL: int64(m.TTL), VivifyTTL: int64(m.VivifyTTL)}
}
