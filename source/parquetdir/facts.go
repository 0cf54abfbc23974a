package parquetdir

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"time"
	"unsafe"

	"github.com/rexport/rexport/export"
)

// factsTable holds every learner's facts, packed: the learner ids in
// append-only byte chunks, the rest in a slice of 12-byte records, and an
// open-addressing hash index from id to record. A map of
// *export.LearnerFacts took about 175 bytes a learner (a string, a
// struct with two time.Time, a map slot); this takes the id's bytes and
// 17 to 22 more (a record, 4/0.75 to 8 bytes of index, and 4 bytes
// locating the id unless all ids have the same length), which is what a
// source of hundreds of thousands of learners keeps in memory for the
// whole build: about 54 bytes for a learner with a UUID id.
//
// The ids are kept as text, not UUIDs as 16 bytes: get returns the id as
// a string without allocating, so its bytes must be in memory.
//
// A factsTable is filled by one goroutine (add), then only read (find,
// get), by any number.
type factsTable struct {
	seed maphash.Seed

	// chunks hold the ids' bytes, in record order; a chunk is never moved
	// or changed once filled, so strings may point into it.
	chunks [][]byte
	// While every id has the same length idLen > 0, refs is nil and the
	// id of record r is the (r % idsPerChunk)th of chunk r / idsPerChunk.
	// Else idLen is -1 (0 before the first add) and refs locates the id
	// of each record: chunk<<16 | offset. The id ends where the next
	// record's starts, if in the same chunk, else at the end of the chunk.
	idLen       int
	idsPerChunk uint32
	refs        []uint32

	recs []factsRecord
	// far holds the facts of the records flagged factFar, whose times do
	// not fit a factsRecord.
	far map[int32]farFacts

	// slots is the hash index, linear probing, at most 3/4 full
	// (maxLoadNum/maxLoadDen): by slot, 0 if empty, else the record index
	// + 1 in the low slotBits bits and the high bits of the low 32 bits of
	// the id's hash in the others (a tag to skip most records of other
	// ids without reading their id).
	slots    []uint32
	slotBits uint
}

// factsRecord is a learner's facts but the id: the sign-up time in Unix
// nanoseconds (as two halves, so that a record takes 12 bytes, not 16),
// and meta, the birth date in days since 1970-01-01 (the source's times
// are UTC, and a date column holds midnights) shifted left by
// factFlagBits, and flags in the low bits. A record whose times do not
// fit has flag factFar and its times in factsTable.far.
type factsRecord struct {
	signupLo, signupHi uint32
	meta               int32
}

const (
	factBirthKnown = 1 << iota
	factOptedOut
	factDeleted
	factConsent
	factFar

	factFlagBits = iota
)

// farFacts are the times of a record that do not fit a factsRecord.
type farFacts struct {
	signupSec  int64
	signupNsec int32
	birthDays  int32
}

const secondsPerDay = 24 * 60 * 60

// factsChunkBytes is the size of an id chunk (an id longer than that has
// a chunk of its own). An id's offset in its chunk must fit 16 bits.
const factsChunkBytes = 64 << 10

// maxChunks is how many chunks refs can tell apart: the ids take at most
// maxChunks chunks, 4 GiB, once they have different lengths. (A variable
// for the tests.)
var maxChunks = 1 << 16

// The hash index is at most maxLoadNum/maxLoadDen full.
const maxLoadNum, maxLoadDen = 3, 4

// newFactsTable returns an empty table sized for n learners (it grows
// past n if need be).
func newFactsTable(n int) *factsTable {
	t := &factsTable{seed: maphash.MakeSeed(), recs: make([]factsRecord, 0, n)}
	t.makeSlots(max(1024, (n*maxLoadDen+maxLoadNum-1)/maxLoadNum))
	return t
}

func (t *factsTable) makeSlots(size int) {
	t.slots = make([]uint32, size)
	// size > the number of records, so a record index + 1 fits.
	t.slotBits = uint(bits.Len(uint(size)))
}

// len returns the number of learners.
func (t *factsTable) len() int { return len(t.recs) }

// find returns the record index of the learner id, or -1.
func (t *factsTable) find(id []byte) int32 {
	h := maphash.Bytes(t.seed, id)
	return t.lookup(h, unsafe.String(unsafe.SliceData(id), len(id)))
}

// findString is find for a string id.
func (t *factsTable) findString(id string) int32 {
	return t.lookup(maphash.String(t.seed, id), id)
}

// lookup returns the record index of id, of hash h, or -1.
func (t *factsTable) lookup(h uint64, id string) int32 {
	low := uint32(1)<<t.slotBits - 1
	tag := uint32(h) &^ low
	size := uint64(len(t.slots))
	for i := t.home(h); ; {
		s := t.slots[i]
		if s == 0 {
			return -1
		}
		if s&^low == tag {
			if r := int32(s&low) - 1; t.id(r) == id {
				return r
			}
		}
		if i++; i == size {
			i = 0
		}
	}
}

// home returns the first slot to try for a hash.
func (t *factsTable) home(h uint64) uint64 {
	hi, _ := bits.Mul64(h, uint64(len(t.slots)))
	return hi
}

// id returns the id of record r, pointing into the chunks.
func (t *factsTable) id(r int32) string {
	var c []byte
	var start, end int
	if t.refs == nil { // then idLen > 0
		c = t.chunks[uint32(r)/t.idsPerChunk]
		start = int(uint32(r)%t.idsPerChunk) * t.idLen
		end = start + t.idLen
	} else {
		ref := t.refs[r]
		c, start, end = t.chunks[ref>>16], int(ref&0xffff), -1
		if int(r)+1 < len(t.refs) {
			if next := t.refs[r+1]; next>>16 == ref>>16 {
				end = int(next & 0xffff)
			}
		}
		if end < 0 {
			end = len(c)
		}
		if start == end {
			return ""
		}
	}
	return unsafe.String(&c[start], end-start)
}

// add adds a learner's facts; ok=false if the id is already there. A
// birth date must be a midnight, UTC, in the range of int32 days.
func (t *factsTable) add(fa export.LearnerFacts) (ok bool, err error) {
	if t.findString(fa.LearnerID) >= 0 {
		return false, nil
	}
	var flags int32
	for _, f := range []struct {
		set  bool
		flag int32
	}{{fa.OptedOut, factOptedOut}, {fa.Deleted, factDeleted}, {fa.SensitiveConsent, factConsent}} {
		if f.set {
			flags |= f.flag
		}
	}
	far := farFacts{signupSec: fa.SignupAt.Unix(), signupNsec: int32(fa.SignupAt.Nanosecond())}
	if !fa.BirthDate.IsZero() {
		sec := fa.BirthDate.Unix()
		days := sec / secondsPerDay
		if sec%secondsPerDay != 0 || fa.BirthDate.Nanosecond() != 0 || days != int64(int32(days)) {
			return false, fmt.Errorf("birth date %v is not a date", fa.BirthDate)
		}
		flags |= factBirthKnown
		far.birthDays = int32(days)
	}
	if err := t.addID(fa.LearnerID); err != nil {
		return false, err
	}
	r := int32(len(t.recs))
	rec := factsRecord{meta: far.birthDays<<factFlagBits | flags}
	ns := fa.SignupAt.UnixNano()
	if rec.meta>>factFlagBits == far.birthDays && time.Unix(0, ns).Equal(fa.SignupAt) {
		rec.signupLo, rec.signupHi = uint32(ns), uint32(uint64(ns)>>32)
	} else {
		rec.meta = flags | factFar
		if t.far == nil {
			t.far = map[int32]farFacts{}
		}
		t.far[r] = far
	}
	t.recs = append(t.recs, rec)
	if len(t.recs)*maxLoadDen > len(t.slots)*maxLoadNum {
		t.makeSlots(2 * len(t.slots))
		for r := range t.recs {
			t.insert(int32(r))
		}
	} else {
		t.insert(r)
	}
	return true, nil
}

// addID copies the id of a new record into the chunks.
func (t *factsTable) addID(id string) error {
	r := len(t.recs)
	if r == 0 && t.idLen == 0 && id != "" {
		// The ids take the same length until they don't: chunks of as
		// many ids as fit 64 KiB (1 for a longer id). (Not a power of two
		// ids, which would save a division but waste up to 1/8 of a
		// chunk: the allocator rounds a chunk up to 8 KiB pages.)
		t.idLen = len(id)
		t.idsPerChunk = uint32(max(1, factsChunkBytes/len(id)))
	}
	if t.refs == nil && t.idLen > 0 && len(id) == t.idLen {
		if uint32(r)%t.idsPerChunk == 0 {
			t.chunks = append(t.chunks, make([]byte, 0, t.idLen*int(t.idsPerChunk)))
		}
		c := &t.chunks[len(t.chunks)-1]
		*c = append(*c, id...)
		return nil
	}
	if t.refs == nil {
		// Locate the ids so far (all in full chunks, but the last).
		if len(t.chunks) > maxChunks {
			return errTooManyIDs
		}
		t.refs = make([]uint32, r, cap(t.recs))
		for i := range t.refs {
			per := int(t.idsPerChunk)
			t.refs[i] = uint32(i/per)<<16 | uint32(i%per*t.idLen)
		}
		t.idLen = -1
	}
	last := len(t.chunks) - 1
	if last < 0 || len(t.chunks[last]) > 0xffff || cap(t.chunks[last])-len(t.chunks[last]) < len(id) {
		if last+1 == maxChunks {
			return errTooManyIDs
		}
		t.chunks = append(t.chunks, make([]byte, 0, max(factsChunkBytes, len(id))))
		last++
	}
	c := &t.chunks[last]
	t.refs = append(t.refs, uint32(last)<<16|uint32(len(*c)))
	*c = append(*c, id...)
	return nil
}

var errTooManyIDs = errors.New("learner ids: over 4 GiB")

// insert puts record r in the index.
func (t *factsTable) insert(r int32) {
	h := maphash.String(t.seed, t.id(r))
	low := uint32(1)<<t.slotBits - 1
	i := t.home(h)
	for t.slots[i] != 0 {
		if i++; i == uint64(len(t.slots)) {
			i = 0
		}
	}
	t.slots[i] = uint32(h)&^low | uint32(r+1)
}

// get returns the facts of record r.
func (t *factsTable) get(r int32) export.LearnerFacts {
	rec := t.recs[r]
	fa := export.LearnerFacts{
		LearnerID:        t.id(r),
		OptedOut:         rec.meta&factOptedOut != 0,
		Deleted:          rec.meta&factDeleted != 0,
		SensitiveConsent: rec.meta&factConsent != 0,
	}
	days := rec.meta >> factFlagBits
	if rec.meta&factFar == 0 {
		fa.SignupAt = time.Unix(0, int64(uint64(rec.signupHi)<<32|uint64(rec.signupLo))).UTC()
	} else {
		far := t.far[r]
		fa.SignupAt = time.Unix(far.signupSec, int64(far.signupNsec)).UTC()
		days = far.birthDays
	}
	if rec.meta&factBirthKnown != 0 {
		fa.BirthDate = time.Unix(int64(days)*secondsPerDay, 0).UTC()
	}
	return fa
}
