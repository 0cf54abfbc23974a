package deidentify

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// MasterKeySize is the length in bytes of a MasterKey.
const MasterKeySize = 32

// redacted is what a MasterKey prints as, whatever the verb or logger.
const redacted = "[REDACTED]"

// MasterKey is the service-wide secret from which every per-partner
// pseudonym key is derived. It never leaves the service: its String,
// GoString, Format and LogValue methods all print "[REDACTED]", so passing a
// key to fmt or slog by mistake does not leak it. Use Encode to obtain the
// text form for storage.
type MasterKey [MasterKeySize]byte

// GenerateMasterKey reads a new master key from r, which should be a
// cryptographically secure source such as crypto/rand.Reader. It returns an
// error if r yields fewer than MasterKeySize bytes.
func GenerateMasterKey(r io.Reader) (MasterKey, error) {
	var k MasterKey
	if _, err := io.ReadFull(r, k[:]); err != nil {
		return MasterKey{}, fmt.Errorf("deidentify: generate master key: %w", err)
	}
	return k, nil
}

// ParseMasterKey parses the text form produced by Encode: the standard
// base64 encoding of the 32 key bytes, surrounding whitespace ignored. The
// error never repeats the input, which is a secret.
func ParseMasterKey(s string) (MasterKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return MasterKey{}, errors.New("deidentify: master key is empty")
	}
	// Decode into a buffer large enough for any input so that a wrong
	// length is reported as such rather than as an encoding error.
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(buf, []byte(s))
	if err != nil {
		// The decoder's error carries only an offset, but the message is
		// kept fixed so that nothing about the secret is echoed.
		return MasterKey{}, errors.New("deidentify: master key is not valid standard base64")
	}
	if n != MasterKeySize {
		return MasterKey{}, fmt.Errorf("deidentify: master key must decode to %d bytes, got %d", MasterKeySize, n)
	}
	var k MasterKey
	copy(k[:], buf[:n])
	clear(buf)
	return k, nil
}

// Encode returns the text form of the key (standard base64), suitable for a
// key file or an environment variable. ParseMasterKey reverses it.
func (k MasterKey) Encode() string {
	return base64.StdEncoding.EncodeToString(k[:])
}

// IsZero reports whether k is the all-zero key, which is never a valid
// master key and usually means the key was not loaded.
func (k MasterKey) IsZero() bool {
	return k == MasterKey{}
}

// String returns "[REDACTED]".
func (MasterKey) String() string { return redacted }

// GoString returns "[REDACTED]", so %#v does not print the key bytes.
func (MasterKey) GoString() string { return redacted }

// Format implements fmt.Formatter and prints "[REDACTED]" for every verb,
// including %x and %v, which would otherwise print the bytes of the array.
func (MasterKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer and logs "[REDACTED]".
func (MasterKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// Scope says how widely a pseudonym is stable.
type Scope string

const (
	// ScopePartner keeps a learner's pseudonym stable across all exports for
	// one partner, so that a partner can follow learners between datasets.
	// It is the default.
	ScopePartner Scope = "partner"
	// ScopeRequest derives a fresh key for each export request, so that two
	// exports cannot be joined on pseudonyms.
	ScopeRequest Scope = "request"
)

// ParseScope parses "partner" or "request" (case and surrounding space
// ignored). An empty string yields the default, ScopePartner.
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", string(ScopePartner):
		return ScopePartner, nil
	case string(ScopeRequest):
		return ScopeRequest, nil
	}
	return "", fmt.Errorf("deidentify: invalid scope %q: want %q or %q", s, ScopePartner, ScopeRequest)
}

// KeyParams selects the per-use pseudonym key derived from the master key.
// They contain no secret and may be recorded in a manifest.
type KeyParams struct {
	// Partner identifies the content partner the data is for. Required.
	Partner string
	// Scope is ScopePartner or ScopeRequest.
	Scope Scope
	// RequestID identifies the export request. It is required with
	// ScopeRequest and must be empty with ScopePartner.
	RequestID string
	// Version is the key version, at least 1. Bumping it rotates every
	// pseudonym for the partner.
	Version int
}

// Validate returns an error naming the first invalid field of p.
func (p KeyParams) Validate() error {
	switch {
	case p.Partner == "":
		return errors.New("deidentify: key params: partner is required")
	case p.Scope != ScopePartner && p.Scope != ScopeRequest:
		return fmt.Errorf("deidentify: key params: invalid scope %q", p.Scope)
	case p.Scope == ScopeRequest && p.RequestID == "":
		return errors.New("deidentify: key params: request id is required with request scope")
	case p.Scope == ScopePartner && p.RequestID != "":
		return errors.New("deidentify: key params: request id must be empty with partner scope")
	case p.Version < 1:
		return fmt.Errorf("deidentify: key params: version must be at least 1, got %d", p.Version)
	}
	return nil
}

// purposeSalt separates the keys of DeriveKey from every pseudonym key.
const purposeSalt = "rexport purpose key v1"

// DeriveKey returns a 32-byte key for a purpose other than pseudonyms
// (signing download links, say): HKDF-SHA256 over the master key, with its
// own salt and the purpose as info, so it reveals nothing of the master key
// or of any pseudonym key.
func (k MasterKey) DeriveKey(purpose string) []byte {
	key, err := hkdf.Key(sha256.New, k[:], []byte(purposeSalt), purpose, sha256.Size)
	if err != nil {
		panic("deidentify: HKDF cannot fail for a 32-byte output: " + err.Error())
	}
	return key
}
