package node

// opStats count the commands that took a shard's lock; they are plain
// integers because the lock guards them.
type opStats struct {
	getCmds, getHits, getMisses, getExpired, getFlushed uint64
	touchCmds, touchHits, touchMisses                   uint64
	setCmds                                             uint64
	casMisses, casHits, casBadval                       uint64
	incrMisses, incrHits, decrMisses, decrHits          uint64
	deleteMisses, deleteHits                            uint64
	totalItems                                          uint64
}

func (a *opStats) add(b *opStats) {
	a.getCmds += b.getCmds
	a.getHits += b.getHits
	a.getMisses += b.getMisses
	a.getExpired += b.getExpired
	a.getFlushed += b.getFlushed
	a.touchCmds += b.touchCmds
	a.touchHits += b.touchHits
	a.touchMisses += b.touchMisses
	a.setCmds += b.setCmds
	a.casMisses += b.casMisses
	a.casHits += b.casHits
	a.casBadval += b.casBadval
	a.incrMisses += b.incrMisses
	a.incrHits += b.incrHits
	a.decrMisses += b.decrMisses
	a.decrHits += b.decrHits
	a.deleteMisses += b.deleteMisses
	a.deleteHits += b.deleteHits
	a.totalItems += b.totalItems
}
