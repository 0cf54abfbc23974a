package deidentify

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// pseudonymSalt is the fixed HKDF salt for pseudonym keys. Changing it
// changes every pseudonym ever issued.
const pseudonymSalt = "rexport pseudonym key salt v1"

// pseudonymInfo starts the HKDF info of every pseudonym key.
const pseudonymInfo = "rexport/pseudonym"

// pseudonymBytes is how much of the HMAC output a pseudonym keeps: 160 bits,
// which base32 encodes in exactly 32 characters.
const pseudonymBytes = 20

// pseudonymChars is the length of the encoded part of a pseudonym.
const pseudonymChars = pseudonymBytes * 8 / 5

// base32Alphabet is the lowercase RFC 4648 base32 alphabet. Pseudonyms use
// it without padding (20 bytes encode to exactly 32 characters).
const base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// Kind says what an identifier identifies. It is part of the HMAC input, so
// a learner and a post with the same raw id get unrelated pseudonyms, and it
// sets the pseudonym's prefix.
type Kind uint8

// The kinds of identifier rexport pseudonymizes. The zero Kind is invalid.
const (
	KindLearner    Kind = iota + 1 // a learner account; prefix "l_"
	KindPost                       // a forum post; prefix "p_"
	KindThread                     // a forum thread; prefix "t_"
	KindSubmission                 // a quiz or assignment submission; prefix "s_"
	KindResponse                   // a survey response; prefix "r_"
	kindEnd
)

var kindNames = [kindEnd]string{"", "learner", "post", "thread", "submission", "response"}
var kindPrefixes = [kindEnd]string{"", "l_", "p_", "t_", "s_", "r_"}

// String returns the kind's name, e.g. "learner", or "Kind(n)" if k is not
// a valid kind.
func (k Kind) String() string {
	if k.Valid() {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Prefix returns the two-character prefix of pseudonyms of this kind, e.g.
// "l_", or "" if k is not a valid kind.
func (k Kind) Prefix() string {
	if k.Valid() {
		return kindPrefixes[k]
	}
	return ""
}

// Valid reports whether k is one of the Kind constants. Pseudonym panics on
// an invalid kind, so code that builds kinds from configuration should
// check them first (or use ParseKind).
func (k Kind) Valid() bool { return k > 0 && k < kindEnd }

// ParseKind parses a kind name as returned by Kind.String.
func ParseKind(s string) (Kind, error) {
	for k := KindLearner; k < kindEnd; k++ {
		if s == kindNames[k] {
			return k, nil
		}
	}
	return 0, fmt.Errorf("deidentify: unknown kind %q", s)
}

// Pseudonymizer maps identifiers to pseudonyms under one per-use key. The
// pseudonym of id is the kind's prefix followed by the lowercase base32 form
// (no padding) of the first 160 bits of HMAC-SHA256(K, kind || 0x00 || id),
// where K = HKDF-SHA256(master, salt, info(params)).
//
// A Pseudonymizer is safe for concurrent use by multiple goroutines; each
// call works on its own copy of the precomputed HMAC state.
type Pseudonymizer struct {
	params KeyParams
	// inner and outer are the marshalled SHA-256 states after absorbing
	// K^ipad and K^opad: HMAC with these saved costs two compressions for a
	// short id instead of four.
	inner, outer []byte
	pool         sync.Pool // of *macState
}

// macState is the scratch space of one Pseudonym call.
type macState struct {
	h   hash.Hash
	u   encoding.BinaryUnmarshaler
	msg []byte
	sum [sha256.Size]byte
}

// NewPseudonymizer derives the key selected by p from master. It returns an
// error if p is invalid (see KeyParams.Validate) or master is the zero key.
// The error never contains key material.
func NewPseudonymizer(master MasterKey, p KeyParams) (*Pseudonymizer, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if master.IsZero() {
		return nil, errors.New("deidentify: master key is zero (not loaded?)")
	}
	key, err := deriveKey(master, p)
	if err != nil {
		return nil, err
	}
	defer clear(key)

	var pad [sha256.BlockSize]byte
	ps := &Pseudonymizer{params: p}
	for i, x := range []byte{0x36, 0x5c} {
		for j := range pad {
			pad[j] = x
		}
		for j, b := range key { // len(key) = 32 < block size: no pre-hash
			pad[j] ^= b
		}
		h := sha256.New()
		h.Write(pad[:])
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("deidentify: save hmac state: %w", err)
		}
		if i == 0 {
			ps.inner = st
		} else {
			ps.outer = st
		}
	}
	clear(pad[:])
	ps.pool.New = func() any {
		h := sha256.New()
		return &macState{h: h, u: h.(encoding.BinaryUnmarshaler), msg: make([]byte, 0, 64)}
	}
	return ps, nil
}

// deriveKey returns HKDF-SHA256(master, salt, info) where info is
// pseudonymInfo followed by the length-prefixed partner, scope, request id
// (request scope only) and version, so that no two distinct KeyParams give
// the same info.
func deriveKey(master MasterKey, p KeyParams) ([]byte, error) {
	key, err := hkdf.Key(sha256.New, master[:], []byte(pseudonymSalt), keyInfo(p), sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("deidentify: derive pseudonym key: %w", err)
	}
	return key, nil
}

func keyInfo(p KeyParams) string {
	b := []byte(pseudonymInfo)
	field := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	field(p.Partner)
	field(string(p.Scope))
	if p.Scope == ScopeRequest {
		field(p.RequestID)
	}
	field(strconv.Itoa(p.Version))
	return string(b)
}

// Params returns the parameters the key was derived with. They hold no key
// material.
func (ps *Pseudonymizer) Params() KeyParams { return ps.params }

// Describe returns a one-line human description of the scheme, e.g.
// "HMAC-SHA256, partner scope, key v2", for manifests and logs.
func (ps *Pseudonymizer) Describe() string {
	var sb strings.Builder
	sb.WriteString("HMAC-SHA256, ")
	sb.WriteString(string(ps.params.Scope))
	sb.WriteString(" scope, key v")
	sb.WriteString(strconv.Itoa(ps.params.Version))
	return sb.String()
}

// Pseudonym returns the pseudonym of the identifier id of the given kind.
// The same (master key, params, kind, id) always gives the same pseudonym.
// It panics if kind is not one of the Kind constants.
func (ps *Pseudonymizer) Pseudonym(kind Kind, id string) string {
	var buf [2 + pseudonymChars]byte
	return string(ps.AppendPseudonym(buf[:0], kind, id))
}

// AppendPseudonym appends the pseudonym of id to dst and returns the
// extended slice. It does not allocate when dst has room for 34 more bytes,
// which makes it the better choice in a loop that writes into a reused
// buffer. It panics if kind is not one of the Kind constants.
func (ps *Pseudonymizer) AppendPseudonym(dst []byte, kind Kind, id string) []byte {
	if !kind.Valid() {
		panic("deidentify: AppendPseudonym: invalid kind " + kind.String())
	}
	st := ps.pool.Get().(*macState)
	sum := ps.mac(st, kind, id)
	dst = append(dst, kindPrefixes[kind]...)
	dst = appendBase32(dst, (*[pseudonymBytes]byte)(sum[:pseudonymBytes]))
	ps.pool.Put(st)
	return dst
}

// appendBase32 appends the unpadded lowercase base32 encoding of src. It is
// encoding/base32 specialised to a fixed 20-byte input (four 40-bit groups),
// which the hot path of Pseudonym can afford to unroll.
func appendBase32(dst []byte, src *[pseudonymBytes]byte) []byte {
	var out [pseudonymChars]byte
	for g := range pseudonymBytes / 5 {
		b := src[g*5 : g*5+5]
		v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
		o := out[g*8 : g*8+8]
		for i := range 8 {
			o[i] = base32Alphabet[(v>>(35-5*uint(i)))&31]
		}
	}
	return append(dst, out[:]...)
}

// mac computes HMAC-SHA256(K, kind || 0x00 || id) into st.sum.
func (ps *Pseudonymizer) mac(st *macState, kind Kind, id string) *[sha256.Size]byte {
	return ps.labelledMAC(st, kindNames[kind], id)
}
