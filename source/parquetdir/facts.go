package parquetdir

import (
	"fmt"
	"hash/maphash"
	"time"
	"unsafe"

	"github.com/rexport/rexport/export"
)

// factsTable holds every learner's facts, packed: the learner ids in
// append-only byte chunks, the rest in a slice of fixed-size records,
// and an open-addressing hash index from id to record. A map of
// *export.LearnerFacts took about 175 bytes a learner (a string, a
// struct with two time.Time, a map slot); this takes about 70, which is
// what a source of hundreds of thousands of learners keeps in memory for
// the whole build.
//
// A factsTable is filled by one goroutine (add), then only read (find,
// get), by any number.
type factsTable struct {
	seed   maphash.Seed
	chunks [][]byte // the ids' bytes; a chunk is never moved or changed once filled
	ids    []string // by record: the id, pointing into chunks
	recs   []factsRecord
	slots  []int32 // record index + 1 by hash slot, 0 if empty; len is a power of two
}

// factsRecord is a learner's facts but the id: the sign-up time in Unix
// seconds and nanoseconds, the birth date in days since 1970-01-01 (the
// source's times are UTC, and a date column holds midnights).
type factsRecord struct {
	signupSec  int64
	signupNsec int32
	birthDays  int32
	flags      uint8
}

const (
	factBirthKnown = 1 << iota
	factOptedOut
	factDeleted
	factConsent
)

const secondsPerDay = 24 * 60 * 60

// factsChunkBytes is the size of an id chunk.
const factsChunkBytes = 64 << 10

// newFactsTable returns an empty table sized for n learners (it grows
// past n if need be).
func newFactsTable(n int) *factsTable {
	t := &factsTable{seed: maphash.MakeSeed(), ids: make([]string, 0, n), recs: make([]factsRecord, 0, n)}
	size := 1024
	for size < 2*n {
		size *= 2
	}
	t.slots = make([]int32, size)
	return t
}

// len returns the number of learners.
func (t *factsTable) len() int { return len(t.ids) }

// find returns the record index of the learner id, or -1.
func (t *factsTable) find(id []byte) int32 {
	mask := uint64(len(t.slots) - 1)
	for h := maphash.Bytes(t.seed, id) & mask; ; h = (h + 1) & mask {
		r := t.slots[h]
		if r == 0 {
			return -1
		}
		if t.ids[r-1] == string(id) {
			return r - 1
		}
	}
}

// findString is find for a string id.
func (t *factsTable) findString(id string) int32 {
	return t.find(unsafe.Slice(unsafe.StringData(id), len(id)))
}

// add adds a learner's facts; ok=false if the id is already there. A
// birth date must be a midnight, UTC, in the range of int32 days.
func (t *factsTable) add(fa export.LearnerFacts) (ok bool, err error) {
	if t.findString(fa.LearnerID) >= 0 {
		return false, nil
	}
	rec := factsRecord{signupSec: fa.SignupAt.Unix(), signupNsec: int32(fa.SignupAt.Nanosecond())}
	if !fa.BirthDate.IsZero() {
		sec := fa.BirthDate.Unix()
		days := sec / secondsPerDay
		if sec%secondsPerDay != 0 || fa.BirthDate.Nanosecond() != 0 || days != int64(int32(days)) {
			return false, fmt.Errorf("birth date %v is not a date", fa.BirthDate)
		}
		rec.flags |= factBirthKnown
		rec.birthDays = int32(days)
	}
	if 2*(len(t.ids)+1) > len(t.slots) {
		t.grow()
	}
	t.ids = append(t.ids, t.intern(fa.LearnerID))
	for _, f := range []struct {
		set  bool
		flag uint8
	}{{fa.OptedOut, factOptedOut}, {fa.Deleted, factDeleted}, {fa.SensitiveConsent, factConsent}} {
		if f.set {
			rec.flags |= f.flag
		}
	}
	t.recs = append(t.recs, rec)
	t.insert(int32(len(t.ids) - 1))
	return true, nil
}

// intern copies id into the chunks and returns the copy.
func (t *factsTable) intern(id string) string {
	if id == "" {
		return ""
	}
	last := len(t.chunks) - 1
	if last < 0 || cap(t.chunks[last])-len(t.chunks[last]) < len(id) {
		t.chunks = append(t.chunks, make([]byte, 0, max(factsChunkBytes, len(id))))
		last++
	}
	c := t.chunks[last]
	start := len(c)
	c = append(c, id...)
	t.chunks[last] = c
	return unsafe.String(&c[start], len(id))
}

func (t *factsTable) insert(r int32) {
	mask := uint64(len(t.slots) - 1)
	h := maphash.String(t.seed, t.ids[r]) & mask
	for t.slots[h] != 0 {
		h = (h + 1) & mask
	}
	t.slots[h] = r + 1
}

// grow doubles the hash index, keeping it at most half full.
func (t *factsTable) grow() {
	t.slots = make([]int32, 2*len(t.slots))
	for r := range t.ids {
		t.insert(int32(r))
	}
}

// get returns the facts of record r.
func (t *factsTable) get(r int32) export.LearnerFacts {
	rec := &t.recs[r]
	fa := export.LearnerFacts{
		LearnerID:        t.ids[r],
		SignupAt:         time.Unix(rec.signupSec, int64(rec.signupNsec)).UTC(),
		OptedOut:         rec.flags&factOptedOut != 0,
		Deleted:          rec.flags&factDeleted != 0,
		SensitiveConsent: rec.flags&factConsent != 0,
	}
	if rec.flags&factBirthKnown != 0 {
		fa.BirthDate = time.Unix(int64(rec.birthDays)*secondsPerDay, 0).UTC()
	}
	return fa
}
