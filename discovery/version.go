package discovery

import "hash/fnv"

// A configuration version is what clients see: a decimal integer that they
// follow only upwards (the Go client parses it as a uint64 and ignores a
// lower one; AWS's Java client uses a long; JavaScript clients a double).
// shoal's versions are made of three fields,
//
//	epoch (25 bits) | slot (12 bits) | seq (16 bits)
//
// below 2^53, so that every client reads them exactly. A coordinator
// publishes in a term of its own, (epoch, slot): the epoch one above every
// epoch it knows of when it takes over, the slot its own, which the table
// gives every member for as long as it is remembered. Two coordinators can
// therefore never number two tables alike, even on the two sides of a
// partition, and a newer epoch always wins. Within its term a coordinator
// counts seq from 1; it starts its next term when seq runs out.
const (
	seqBits   = 16
	slotBits  = 12
	epochBits = 25

	maxSeq     = 1<<seqBits - 1
	maxSlots   = 1 << slotBits
	maxEpoch   = 1<<epochBits - 1
	maxVersion = 1<<(epochBits+slotBits+seqBits) - 1
)

func epochOf(v uint64) uint64 { return v >> (slotBits + seqBits) }

func slotOf(v uint64) int { return int(v>>seqBits) & (maxSlots - 1) }

func seqOf(v uint64) uint64 { return v & maxSeq }

// termOf is (epoch, slot): who numbered v, and when.
func termOf(v uint64) uint64 { return v >> seqBits }

func makeVersion(epoch uint64, slot int, seq uint64) uint64 {
	return epoch<<(slotBits+seqBits) | uint64(slot)<<seqBits | seq
}

// ceiling is the highest version a member that knows of version known
// accepts in one step: the end of the next epoch. A message can so move a
// member on by at most one term; hostile members would need 2^25 steps,
// each one checked, to exhaust the versions, and honest ones rarely skip a
// term (a member that missed several catches up a term per exchange).
func ceiling(known uint64) uint64 {
	e := epochOf(known) + 1
	if e > maxEpoch {
		return maxVersion
	}
	return makeVersion(e, maxSlots-1, maxSeq)
}

// preferredSlot is where a member's slot search starts: a hash of its
// name, so that members given slots on two sides of a partition are
// unlikely to collide even then.
func preferredSlot(name string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32() % maxSlots)
}
