// Package deidentify holds the de-identification primitives rexport applies to
// course data before it leaves the platform: keyed pseudonyms (HMAC-SHA256
// under a per-partner key derived from the master key) and keyed date
// shifts, age rules, generalisation ladders (UN M49 country regions, age
// bands, timestamp precision), k-anonymity with l-diversity and its risk
// report, and a free-text scrubber that removes emails, phone numbers, URLs,
// IP addresses, handles, street addresses and the names, usernames, cities
// and postal codes of the people enrolled in a course.
//
// The package is pure: it performs no I/O, keeps no global state and imports
// only the standard library, so every transform can be tested and fuzzed in
// isolation. Randomness (for key generation) is injected by the caller.
package deidentify
