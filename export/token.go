package export

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"io"
	"strings"
)

// TokenPrefix starts every API token, so a leaked token is easy to spot
// (and to scan for in repositories).
const TokenPrefix = "rx_"

// NewToken returns a new random 256-bit API token and the hash to store.
// The token itself is shown once and never stored. A nil r uses
// crypto/rand.
func NewToken(r io.Reader) (token string, hash []byte, err error) {
	if r == nil {
		r = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", nil, err
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken returns the stored form of a token. Tokens carry 256 random
// bits, so a plain SHA-256 is enough: there is nothing to brute-force.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return sum[:]
}

// NewID returns a random identifier with the given prefix, e.g. "exp_...":
// 128 bits, lowercase base32 without padding.
func NewID(prefix string) string {
	var b [16]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return prefix + base32Enc.EncodeToString(b[:])
}

// base32Enc is lowercase base32 without padding, as in pseudonyms.
var base32Enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
