package slab

// lruList is a class's items from most (head) to least (tail) recently
// linked or given a second chance, linked through the chunks' headers.
// Reads do not move items: they set the item's active bit, and eviction gives
// active items at the tail a second chance instead of evicting them, which
// keeps the read path free of the class lock (memcached's segmented LRU
// does the same with its ACTIVE flag).
type lruList struct {
	head, tail ref
	items      int // linked items
	bytes      int // their total size
}

// pushHead links r at the head. The class lock is held.
func (l *lruList) pushHead(m items, r ref) {
	m.setRef(r, hdrPrev, 0)
	m.setRef(r, hdrNext, l.head)
	if l.head != 0 {
		m.setRef(l.head, hdrPrev, r)
	}
	l.head = r
	if l.tail == 0 {
		l.tail = r
	}
}

// remove unlinks r. The class lock is held.
func (l *lruList) remove(m items, r ref) {
	prev, next := m.ref(r, hdrPrev), m.ref(r, hdrNext)
	if prev != 0 {
		m.setRef(prev, hdrNext, next)
	} else {
		l.head = next
	}
	if next != 0 {
		m.setRef(next, hdrPrev, prev)
	} else {
		l.tail = prev
	}
}

// replace puts nr, a copy of r's header, in r's place. The class lock is
// held.
func (l *lruList) replace(m items, r, nr ref) {
	prev, next := m.ref(r, hdrPrev), m.ref(r, hdrNext)
	m.setRef(nr, hdrPrev, prev)
	m.setRef(nr, hdrNext, next)
	if prev != 0 {
		m.setRef(prev, hdrNext, nr)
	} else {
		l.head = nr
	}
	if next != 0 {
		m.setRef(next, hdrPrev, nr)
	} else {
		l.tail = nr
	}
}
