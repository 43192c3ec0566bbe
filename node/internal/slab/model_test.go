package slab

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shoal-cache/shoal/protocol"
)

// The engine checked against a model: a map of what each key must hold.
// Operations are decoded from bytes, so that the same driver runs random
// sequences (TestStoreModel) and the fuzzer's (FuzzStoreModel). The store
// may evict only when the model run allows it (a tight memory limit); then
// a key may go missing, but never come back with a value it was not last
// given, and a deleted, expired or flushed key never reads back.

// modelItem is what the model knows of a live key.
type modelItem struct {
	value []byte
	flags uint32
	exp   uint32 // clock second it expires at; 0 never
	cas   uint64
}

// modelRun drives one store against one model.
type modelRun struct {
	t       testing.TB
	s       *Store
	evicts  bool // the store may evict: a missing key is not an error
	items   map[string]*modelItem
	flushAt uint32 // clock second of a pending delayed flush, 0 none
	seq     int
	failed  int      // stores refused for want of memory
	log     []string // the operations so far, for the failure message
}

func newModelRun(t testing.TB, mb int, evicts bool) *modelRun {
	s := newTestStore(t, mb)
	s.stopBackground() // the run drives the clock
	return &modelRun{t: t, s: s, evicts: evicts, items: map[string]*modelItem{}}
}

// modelKeys are few, so that operations meet the same keys often.
const modelKeys = 64

// reader decodes a run's operations from bytes; past the end it reads 0.
type reader struct {
	b []byte
	i int
}

func (r *reader) byte() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *reader) done() bool { return r.i >= len(r.b) }

// run applies the operations b encodes.
func (m *modelRun) run(b []byte) {
	r := &reader{b: b}
	for !r.done() {
		m.step(r)
	}
	m.checkAll()
}

func (m *modelRun) fail(format string, args ...any) {
	m.t.Helper()
	tail := m.log[max(0, len(m.log)-12):]
	m.t.Fatalf("after %d ops (last: %q): %s", len(m.log), tail, fmt.Sprintf(format, args...))
}

func (m *modelRun) now() uint32 { return m.s.clock.Now() }

// live is the model's item for key, if it has one that has not expired.
func (m *modelRun) live(key string) *modelItem {
	it := m.items[key]
	if it == nil || it.exp != 0 && it.exp <= m.now() {
		delete(m.items, key)
		return nil
	}
	return it
}

// value makes the value of the nth write: sized by sz, tagged with n.
func (m *modelRun) value(sz byte) []byte {
	m.seq++
	if m.evicts && sz >= 64 {
		sz = 240 + sz%16 // mostly large: more than the store holds
	}
	var n int
	switch {
	case sz < 128:
		n = int(sz) % 64
	case sz < 240:
		n = 64 + int(sz-128)*400
	default:
		n = 50000 + int(sz-240)*60000 // up to 950 KB: a tight store evicts
	}
	v := make([]byte, n)
	tag := fmt.Appendf(nil, "<%d>", m.seq)
	for i := range v {
		v[i] = tag[i%len(tag)]
	}
	return v
}

// exptime decodes an exptime: mostly none, else a few seconds, or already
// passed.
func exptime(b byte) int64 {
	switch {
	case b < 170:
		return 0
	case b < 250:
		return int64(b%5) + 1
	default:
		return -1
	}
}

// expiry is the clock second an exptime sets, as the model reckons it.
func (m *modelRun) expiry(e int64) uint32 {
	switch {
	case e == 0:
		return 0
	case e < 0:
		return 1
	}
	return m.now() + uint32(e)
}

func (m *modelRun) step(r *reader) {
	op, k := r.byte()%18, r.byte()%modelKeys
	key := fmt.Sprintf("key%d", k)
	m.log = append(m.log, fmt.Sprintf("%d %s", op, key))
	switch op {
	case 0, 1, 2, 3, 4:
		m.store([]Mode{ModeSet, ModeAdd, ModeReplace, ModeAppend, ModePrepend}[op], key, r)
	case 5:
		m.cas(key, r)
	case 6, 7:
		m.get(key, op == 7, exptime(r.byte()))
	case 8:
		m.touch(key, exptime(r.byte()))
	case 9:
		m.delete(key)
	case 10, 11:
		m.arith(key, op == 10, uint64(r.byte())*uint64(r.byte()+1))
	case 12:
		m.setNumber(key, r)
	case 13:
		m.advance(uint32(r.byte()%4) + 1)
	case 14:
		if d := r.byte(); d < 16 { // rarely: a flush empties the model
			m.flush(int64(d % 4))
		}
	case 15:
		m.metaGet(key, r)
	case 16:
		m.invalidate(key)
	case 17:
		m.checkAll()
	}
}

// store runs a storage command and checks its result against the model.
func (m *modelRun) store(mode Mode, key string, r *reader) {
	v, flags, e := m.value(r.byte()), uint32(r.byte()), exptime(r.byte())
	old := m.live(key)
	res, err := m.s.Reserve([]byte(key), flags, e, len(v), mode)
	if err != nil {
		if !m.evicts {
			m.fail("reserve %s (%d bytes): %v", key, len(v), err)
		}
		m.failed++
		if mode == ModeSet {
			delete(m.items, key) // a failed set removes the old value
		}
		return
	}
	copy(m.s.Value(res), v)
	got, cas, err := m.s.Commit(res, mode, 0)
	joined := old != nil && (mode == ModeAppend || mode == ModePrepend)
	switch {
	case errors.Is(err, ErrTooLarge) && joined && len(old.value)+len(v) > 1<<20-100:
		return // the joined value is above -I: nothing changes
	case errors.Is(err, ErrOutOfMemory) && m.evicts:
		return
	case err != nil:
		m.fail("commit %s: %v", key, err)
	}
	needsOld := mode == ModeReplace || mode == ModeAppend || mode == ModePrepend
	switch {
	case got == Stored && mode == ModeAdd && old != nil:
		m.evicted(key, "add stored over it")
	case got == Stored && needsOld && old == nil:
		m.fail("mode %d of %s stored, but it holds nothing", mode, key)
	case got == NotStored && mode == ModeAdd && old == nil:
		m.fail("add of %s not stored, but it holds nothing", key)
	case got == NotStored && needsOld && old != nil:
		m.evicted(key, "replace found nothing")
		return
	case got != Stored && got != NotStored:
		m.fail("mode %d of %s: result %v", mode, key, got)
	}
	if got != Stored {
		return
	}
	it := &modelItem{value: v, flags: flags, exp: m.expiry(e), cas: cas}
	if mode == ModeAppend || mode == ModePrepend {
		it.flags, it.exp = old.flags, old.exp
		if mode == ModeAppend {
			it.value = append(append([]byte(nil), old.value...), v...)
		} else {
			it.value = append(append([]byte(nil), v...), old.value...)
		}
	}
	m.items[key] = it
}

// evicted accepts that key went missing, when the store may evict.
func (m *modelRun) evicted(key, how string) {
	m.t.Helper()
	if !m.evicts {
		m.fail("%s: %s, yet nothing may be evicted", key, how)
	}
	delete(m.items, key)
}

func (m *modelRun) cas(key string, r *reader) {
	old := m.live(key)
	cas := uint64(r.byte()) + 1
	right := old != nil && r.byte()%2 == 0
	if right {
		cas = old.cas
	}
	v := m.value(r.byte())
	res, err := m.s.Reserve([]byte(key), 3, 0, len(v), ModeCAS)
	if err != nil {
		if !m.evicts {
			m.fail("reserve cas %s: %v", key, err)
		}
		return
	}
	copy(m.s.Value(res), v)
	got, newCAS, err := m.s.Commit(res, ModeCAS, cas)
	switch {
	case err != nil:
		m.fail("cas %s: %v", key, err)
	case got == NotFound && old != nil:
		m.evicted(key, "cas found nothing")
	case got != NotFound && old == nil:
		m.fail("cas %s: %v, but it holds nothing", key, got)
	case got == Stored && !right && cas != old.cas:
		m.fail("cas %s with CAS %d stored over CAS %d", key, cas, old.cas)
	case got == Exists && right:
		m.fail("cas %s with its own CAS %d: exists", key, cas)
	case got == Stored:
		m.items[key] = &modelItem{value: v, flags: 3, cas: newCAS}
	}
}

// check compares a read of key with the model.
func (m *modelRun) check(key string, it Item, v []byte, ok bool) *modelItem {
	m.t.Helper()
	want := m.live(key)
	switch {
	case ok && want == nil:
		m.fail("%s read back %q, but it holds nothing (deleted, expired, flushed or evicted)", key, trim(v))
	case !ok && want != nil:
		m.evicted(key, "read missed")
		return nil
	case !ok:
		return nil
	case !bytes.Equal(v, want.value):
		m.fail("%s read back %q, want %q", key, trim(v), trim(want.value))
	case it.Flags != want.flags || it.CAS != want.cas || it.Exptime != want.exp:
		m.fail("%s read flags %d CAS %d exptime %d, want %d %d %d", key, it.Flags, it.CAS, it.Exptime, want.flags, want.cas, want.exp)
	}
	return want
}

func trim(v []byte) []byte { return v[:min(len(v), 40)] }

func (m *modelRun) get(key string, touch bool, e int64) {
	it, v, ok := m.s.Get([]byte(key), nil, touch, e)
	if !touch {
		m.check(key, it, v, ok)
		return
	}
	// gat reads the item as it was, with its new expiry, which may have
	// passed already.
	exp := m.expiry(e)
	want := m.live(key)
	if ok && it.Exptime != exp {
		m.fail("gat %s: exptime %d, want %d", key, it.Exptime, exp)
	}
	if want != nil {
		it.Exptime = want.exp
	}
	m.check(key, it, v, ok)
	if want != nil {
		want.exp = exp
	}
}

func (m *modelRun) touch(key string, e int64) {
	found := m.s.Touch([]byte(key), e)
	want := m.live(key)
	switch {
	case found && want == nil:
		m.fail("touch found %s, but it holds nothing", key)
	case !found && want != nil:
		m.evicted(key, "touch missed")
	case found:
		want.exp = m.expiry(e)
	}
}

func (m *modelRun) delete(key string) {
	found := m.s.Delete([]byte(key))
	want := m.live(key)
	switch {
	case found && want == nil:
		m.fail("delete found %s, but it holds nothing", key)
	case !found && want != nil:
		m.evicted(key, "delete missed")
	}
	delete(m.items, key)
}

// setNumber stores a decimal value, for the arithmetic to work on.
func (m *modelRun) setNumber(key string, r *reader) {
	n := uint64(r.byte()) << (r.byte() % 60)
	v := protocol.AppendUint(nil, n)
	res, err := m.s.Reserve([]byte(key), 0, 0, len(v), ModeSet)
	if err != nil {
		m.fail("reserve %s: %v", key, err)
	}
	copy(m.s.Value(res), v)
	got, cas, err := m.s.Commit(res, ModeSet, 0)
	if err != nil || got != Stored {
		m.fail("set %s: %v %v", key, got, err)
	}
	m.items[key] = &modelItem{value: v, cas: cas}
}

func (m *modelRun) arith(key string, incr bool, delta uint64) {
	v, cas, found, err := m.s.Arith([]byte(key), incr, delta)
	want := m.live(key)
	switch {
	case found && want == nil:
		m.fail("arith found %s, but it holds nothing", key)
	case !found && want != nil:
		m.evicted(key, "arith missed")
		return
	case !found:
		return
	}
	cur, numeric := protocol.ParseUint64(want.value)
	if len(want.value) == 0 {
		numeric = false
	}
	switch {
	case !numeric && !errors.Is(err, ErrNonNumeric):
		m.fail("arith on %s holding %q: %v, want non-numeric", key, trim(want.value), err)
	case !numeric:
		return
	case err != nil:
		if m.evicts && errors.Is(err, ErrOutOfMemory) {
			return
		}
		m.fail("arith on %s holding %q: %v", key, want.value, err)
	}
	next := cur + delta
	if !incr {
		next = cur - min(cur, delta)
	}
	if v != next {
		m.fail("arith on %s holding %q by %d: %d, want %d", key, want.value, delta, v, next)
	}
	digits := protocol.AppendUint(nil, next)
	if len(digits) <= len(want.value) {
		digits = append(digits, bytes.Repeat([]byte(" "), len(want.value)-len(digits))...)
	}
	want.value, want.cas = digits, cas
}

// advance moves the clock on, and with it expiry and any delayed flush.
func (m *modelRun) advance(seconds uint32) {
	m.s.clock.now.Add(seconds)
	m.s.flushIfDue()
	if m.flushAt != 0 && m.flushAt <= m.now() {
		m.flushAt = 0
		clear(m.items)
	}
	if seconds > 2 {
		m.s.crawl(crawlBudget) // the crawler must only ever free the dead
	}
}

// flush flushes now, or with a delay of d seconds: memcached flushes a
// second before the time it is given, so a delay of 1 is now too.
func (m *modelRun) flush(d int64) {
	m.s.FlushAll(d)
	if d > 1 {
		m.flushAt = m.now() + uint32(d) - 1
		return
	}
	m.flushAt = 0
	clear(m.items)
}

// metaGet is a read that touches, reports the TTL before and after, and
// may not bump.
func (m *modelRun) metaGet(key string, r *reader) {
	e := exptime(r.byte())
	o := GetOptions{Key: []byte(key), Steps: []Step{StepReportTTL}, Value: true, NoBump: r.byte()%2 == 0}
	touch := e != 0
	if touch {
		o.Steps = append(o.Steps, StepTouch)
		o.TTL = e
	}
	got, v, ok := m.s.GetWith(&o, nil)
	want := m.check(key, Item{Flags: got.Flags, CAS: got.CAS, Exptime: m.expOf(key)}, v, ok)
	if want == nil {
		return
	}
	if ttl := ttlLeft(want.exp, m.now()); got.TTL != ttl {
		m.fail("mg %s t: %d, want %d", key, got.TTL, ttl)
	}
	if got.Size != len(want.value) {
		m.fail("mg %s s: %d, want %d", key, got.Size, len(want.value))
	}
	if touch {
		want.exp = m.expiry(e)
	}
}

// expOf is the model's expiry of key, which GetWith does not report
// directly (its TTL step does, and is checked apart).
func (m *modelRun) expOf(key string) uint32 {
	if it := m.live(key); it != nil {
		return it.exp
	}
	return 0
}

// invalidate marks key stale, as md I does: it stays readable, with a new
// CAS.
func (m *modelRun) invalidate(key string) {
	got := m.s.DeleteWith(&DeleteOptions{Key: []byte(key), Invalidate: true})
	want := m.live(key)
	switch {
	case got == Stored && want == nil:
		m.fail("md I found %s, but it holds nothing", key)
	case got != Stored && want != nil:
		m.evicted(key, "md I missed")
	case got == Stored:
		it, _, _, _ := m.s.Peek([]byte(key))
		if it.CAS == want.cas {
			m.fail("md I of %s kept CAS %d", key, it.CAS)
		}
		want.cas = it.CAS
	}
}

// checkAll reads every key without changing anything.
func (m *modelRun) checkAll() {
	for k := 0; k < modelKeys; k++ {
		key := fmt.Sprintf("key%d", k)
		it, bin, _, ok := m.s.Peek([]byte(key))
		want := m.live(key)
		switch {
		case ok && want == nil:
			m.fail("%s is there, but it holds nothing", key)
		case !ok && want != nil:
			m.evicted(key, "it is gone")
		case ok && (it.CAS != want.cas || it.Flags != want.flags || it.Exptime != want.exp || bin):
			m.fail("%s: CAS %d flags %d exptime %d, want %d %d %d", key, it.CAS, it.Flags, it.Exptime, want.cas, want.flags, want.exp)
		}
	}
}

// randomOps is n operations' worth of random bytes.
func randomOps(rng *rand.Rand, n int) []byte {
	b := make([]byte, 6*n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestStoreModel runs random operation sequences against the model: in a
// roomy store, where nothing may go missing, and in a tight one, where
// evictions happen all the time.
func TestStoreModel(t *testing.T) {
	seed := testSeed(t)
	ops := 20000
	if testing.Short() {
		ops = 5000
	}
	for _, c := range []struct {
		name   string
		mb     int
		evicts bool
	}{{"roomy", 64, false}, {"tight", 16, true}} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(c.mb)))
			m := newModelRun(t, c.mb, c.evicts)
			n := ops
			if c.evicts {
				n /= 8 // its values are large
			}
			m.run(randomOps(rng, n))
			tot := m.s.Totals()
			t.Logf("%d ops: %d evictions, %d reclaimed, %d crawler reclaimed, %d stores refused", n, tot.Evictions, tot.Reclaimed, tot.CrawlerReclaimed, m.failed)
			if c.evicts && tot.Evictions == 0 {
				t.Fatal("the tight store evicted nothing: the test did not exercise eviction")
			}
		})
	}
}

// FuzzStoreModel is the model check on the fuzzer's operations, in a tight
// store. Its seeds (testdata/fuzz/FuzzStoreModel and those below) run in
// plain go test.
func FuzzStoreModel(f *testing.F) {
	f.Add([]byte{0, 1, 10, 0, 0, 6, 1, 9, 1, 6, 1})                  // set, get, delete, get
	f.Add([]byte{1, 2, 5, 7, 0, 1, 2, 6, 0, 0, 3, 2, 9, 0, 0, 6, 2}) // add twice, append
	f.Add([]byte{0, 3, 5, 0, 200, 13, 3, 3, 6, 3})                   // set with expiry, advance, get
	f.Add([]byte{12, 4, 9, 3, 10, 4, 7, 1, 11, 4, 250, 3, 6, 4})     // counter up and down
	f.Add([]byte{0, 5, 5, 0, 0, 14, 0, 3, 0, 6, 0, 0, 0, 13, 0, 3, 6, 5})
	f.Add([]byte{0, 6, 255, 0, 0, 0, 7, 255, 0, 0, 0, 8, 255, 0, 0, 6, 6, 6, 7}) // large values
	f.Add([]byte{0, 7, 5, 0, 0, 16, 7, 15, 7, 180, 1, 5, 7, 0, 0, 9})            // md I, mg T, cas
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 6000 {
			return
		}
		newModelRun(t, 16, true).run(ops)
	})
}
