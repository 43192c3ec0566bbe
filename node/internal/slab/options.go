package slab

// The options of the commands that do more than one thing to an item under
// its shard lock (memcached's meta commands): they act from lookup to reply
// under that lock, so that their steps are applied in the order the client
// sent them (a TTL reported before a touch shows the TTL before it) and so
// that exactly one client wins the right to recache an item (memcached's
// "stampede protection"): the recache token, bitWon, is handed out once for
// a missing item vivified on a miss, an item whose TTL fell below the
// recache threshold, or an item marked stale; until it is handed back by
// invalidating the item again, later clients are told another won it.

// Mode is how a store treats an existing item.
type Mode uint8

// Storage modes.
const (
	ModeSet     Mode = iota // store whatever is there
	ModeAdd                 // only when no live item has the key
	ModeReplace             // only when one has
	ModeAppend              // add the value after the live item's
	ModePrepend             // add the value before the live item's
	ModeCAS                 // only when the live item's CAS is the one given
)

// Step is a part of a command that depends on its place among the others:
// they are applied in the order of Steps.
type Step uint8

// Steps of GetWith and ArithWith.
const (
	StepTouch     Step = iota + 1 // set the expiry to TTL
	StepVivify                    // an item created on this miss expires at VivifyTTL
	StepRecache                   // win the recache token if the item expires before RecacheTTL
	StepReportTTL                 // report the TTL left at this point
)

// MaxSteps is the most steps a command can have that needs no allocation to
// build: memcached splits a command line into at most 24 tokens.
const MaxSteps = 24

// GetOptions are a read's: a get that may create the item, touch it and
// hand out the recache token.
type GetOptions struct {
	Key        []byte
	Steps      []Step
	TTL        int64  // StepTouch's exptime
	VivifyTTL  int64  // StepVivify's exptime
	RecacheTTL int64  // StepRecache's threshold, an exptime
	Vivify     bool   // create an empty item on a miss, winning its token
	NoBump     bool   // leave the item's LRU state and fetched bit alone
	Value      bool   // append the value to dst
	Partial    bool   // stop after Steps: no token, no bump, no value (the reply will be an error)
	NewCAS     uint64 // CAS for an item Vivify creates, when HasNewCAS
	HasNewCAS  bool
}

// MetaItem is what GetWith and ArithWith report of the item they acted on.
// Its fields are protocol.MetaItem's, in the same order, so that the server
// converts one to the other.
type MetaItem struct {
	Size       int    // value bytes
	Flags      uint32 // the client's flags
	CAS        uint64
	TTL        int64  // seconds left at StepReportTTL, -1 when it never expires
	LastAccess uint32 // seconds since the item was last accessed
	Fetched    bool   // it had been read before
	KeyBinary  bool   // it was stored with SetOptions.KeyBinary
	TokenSent  bool   // another client had already won the recache token
	Stale      bool   // the item was invalidated
	Won        bool   // this read won the recache token
}

// SetOptions are a commit's: its mode and the CAS checks around it.
type SetOptions struct {
	Mode      Mode
	CAS       uint64 // compare with the live item's; 0 none (ModeCAS always compares)
	KeyBinary bool   // remember that the key was sent base64-encoded
	// Invalidate stores a value whose CAS is older than the item's anyway,
	// marked stale, keeping the item's expiry and recache token.
	Invalidate bool
	NewCAS     uint64 // CAS the stored item gets, when HasNewCAS
	HasNewCAS  bool
}

// DeleteOptions are a delete's.
type DeleteOptions struct {
	Key    []byte
	CAS    uint64 // act only on an item of this CAS, when HasCAS
	HasCAS bool
	// Invalidate marks the item stale instead of removing it: it gets a
	// new CAS, the TTL when HasTTL, and gives back its recache token.
	Invalidate bool
	TTL        int64
	HasTTL     bool
	NewCAS     uint64 // CAS an invalidated item gets, when HasNewCAS
	HasNewCAS  bool
}

// ArithOptions are an increment's or decrement's.
type ArithOptions struct {
	Key       []byte
	Incr      bool   // increment, else decrement (flooring at 0)
	Delta     uint64 // what to add or subtract
	Vivify    bool   // on a miss, create the counter holding Initial
	Initial   uint64
	CAS       uint64 // change only an item of this CAS; 0 any
	NewCAS    uint64 // CAS the changed item gets, when HasNewCAS
	HasNewCAS bool
	Steps     []Step // StepTouch, StepVivify and StepReportTTL apply
	TTL       int64  // StepTouch's exptime
	VivifyTTL int64  // StepVivify's exptime
}
