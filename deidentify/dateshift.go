package deidentify

import (
	"crypto/sha256"
	"encoding/binary"
)

// dateShiftLabel separates the HMAC inputs of date shifts from those of
// pseudonyms. Pseudonyms hash kind name || 0x00 || id and no kind is named
// "dateshift", so no date-shift input is ever a pseudonym input: knowing a
// learner's pseudonym tells nothing about their shift, and the reverse.
const dateShiftLabel = "dateshift"

// DateShiftDays returns the number of days, in [-maxDays, maxDays] and never
// 0, by which the dates of the learner learnerID are shifted. It returns 0
// if maxDays < 1.
//
// The shift is drawn uniformly (the bias is at most 2*maxDays/2^64) from the
// first 64 bits of HMAC-SHA256(K, "dateshift" || 0x00 || learnerID) under the
// pseudonymizer's key K. So it is the same for one learner in every table of
// an export (and across a partner's exports with partner scope), unrelated
// between partners or request scopes, and cannot be computed or inverted
// without the key. Pass the raw learner id, not its pseudonym.
//
// Shifting every date of a learner by the same amount keeps the intervals
// between that learner's events while hiding the calendar dates.
func (ps *Pseudonymizer) DateShiftDays(learnerID string, maxDays int) int {
	if maxDays < 1 {
		return 0
	}
	st := ps.pool.Get().(*macState)
	sum := ps.labelledMAC(st, dateShiftLabel, learnerID)
	v := binary.BigEndian.Uint64(sum[:8])
	ps.pool.Put(st)

	// maxDays is an int, so 2*maxDays fits in a uint64 and the modulo bias
	// is at most 2*maxDays/2^64.
	n := uint64(maxDays)
	r := v % (2 * n) // 0 .. 2n-1
	if r < n {
		return -int(r) - 1 // -1 .. -maxDays
	}
	return int(r-n) + 1 // 1 .. maxDays
}

// labelledMAC computes HMAC-SHA256(K, label || 0x00 || msg) into st.sum by
// restoring the saved inner and outer states: pseudonyms use kind names as
// labels, date shifts their own label.
func (ps *Pseudonymizer) labelledMAC(st *macState, label, msg string) *[sha256.Size]byte {
	st.msg = append(st.msg[:0], label...)
	st.msg = append(st.msg, 0)
	st.msg = append(st.msg, msg...)
	if err := st.u.UnmarshalBinary(ps.inner); err != nil {
		panic("deidentify: restore hmac state: " + err.Error()) // cannot happen: we marshalled it
	}
	st.h.Write(st.msg)
	st.h.Sum(st.sum[:0])
	if err := st.u.UnmarshalBinary(ps.outer); err != nil {
		panic("deidentify: restore hmac state: " + err.Error())
	}
	st.h.Write(st.sum[:])
	st.h.Sum(st.sum[:0])
	if cap(st.msg) > 4096 {
		st.msg = make([]byte, 0, 64) // do not pin a huge id in the pool
	}
	return &st.sum
}
