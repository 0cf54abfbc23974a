package deidentify

import (
	"strconv"
	"time"
)

// MinimumAge is the age under which a learner never appears in an export.
const MinimumAge = 13

// AgeAt returns the number of completed years between birth and t, comparing
// calendar dates in birth's location (a birth date is a date, not an
// instant). Someone born on 29 February becomes a year older on 1 March in
// non-leap years. The result is negative if t is before birth.
func AgeAt(birth, t time.Time) int {
	by, bm, bd := birth.Date()
	ty, tm, td := t.In(birth.Location()).Date()
	age := ty - by
	if tm < bm || tm == bm && td < bd {
		age--
	}
	return age
}

// MinAgeFromYear returns the smallest age at t of someone born at some date
// in yearOfBirth, that is the age of someone born on 31 December of that
// year. Use it to apply MinimumAge when only the year of birth is known: a
// learner is certainly old enough only if MinAgeFromYear(y, t) >= MinimumAge.
func MinAgeFromYear(yearOfBirth int, t time.Time) int {
	return AgeAt(time.Date(yearOfBirth, time.December, 31, 0, 0, 0, 0, t.Location()), t)
}

// topAgeBand is the lower bound of the open-ended top age band; ages from
// it up are top-coded because few people are that old and they stand out.
const topAgeBand = 90

// AgeBand generalises an age to a five-year band aligned on multiples of
// five: "10-14", "15-19", ..., "85-89", and "90+" for 90 and over. It
// returns "" for a negative age.
func AgeBand(age int) string { return ageBand(age, 5) }

// ageBand is the band of width years containing age, "" for a negative
// age and top-coded at topAgeBand.
func ageBand(age, width int) string {
	switch {
	case age < 0:
		return ""
	case age >= topAgeBand:
		return strconv.Itoa(topAgeBand) + "+"
	}
	lo := age - age%width
	return strconv.Itoa(lo) + "-" + strconv.Itoa(lo+width-1)
}
