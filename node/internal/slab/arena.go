package slab

import (
	"fmt"
	"syscall"
)

// arena is the memory that holds every item: one anonymous mapping outside
// the Go heap. The kernel commits its pages only when they are first
// written, so an arena sized for the memory limit costs nothing until used.
type arena struct {
	mem      []byte
	pageSize int
}

// maxArena is the most an arena can address: references are 32 bits
// counting 8-byte units.
const maxArena = 32 << 30

func newArena(size, pageSize int) (*arena, error) {
	if size > maxArena {
		return nil, fmt.Errorf("memory limit %d MB above the %d MB a node can address", size>>20, maxArena>>20)
	}
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_ANON|syscall.MAP_PRIVATE|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("reserving %d MB for items: %w", size>>20, err)
	}
	return &arena{mem: mem, pageSize: pageSize}, nil
}

// pages is how many pages the arena holds; page 0 is never used, so that a
// zero reference means "none".
func (a *arena) pages() int { return len(a.mem) / a.pageSize }

func (a *arena) close() error {
	if a.mem == nil {
		return nil
	}
	err := syscall.Munmap(a.mem)
	a.mem = nil
	return err
}
