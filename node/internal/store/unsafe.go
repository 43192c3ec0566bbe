package store

import "unsafe"

// unsafeSlots views mapped memory as index slots, and slotBytes back.
func unsafeSlots(b []byte) []slot {
	return unsafe.Slice((*slot)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

func slotBytes(t []slot) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(t))), len(t)*8)
}
