package export

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"strconv"
	"time"
)

// MaxLinkTTL bounds how long a signed download link stays valid.
const MaxLinkTTL = 24 * time.Hour

// DefaultLinkTTL is a signed link's lifetime when the caller names none.
const DefaultLinkTTL = time.Hour

// Link is what a signed download link grants: one method on one file of
// one export, on behalf of one principal, until Expires.
type Link struct {
	Method      string
	ExportID    string
	File        string
	PrincipalID string
	Expires     time.Time // whole seconds
	KeyID       string
}

// LinkSigner signs and checks download links with an HMAC-SHA256 key
// derived from the master key. A link is only a bearer of its fields: using
// one still checks the principal, the export's state and the agreement.
type LinkSigner struct {
	KeyID string
	Key   []byte
}

// message encodes every field with a length prefix, so no two links share
// an encoding.
func (l Link) message() []byte {
	b := []byte("rexport link v1")
	for _, f := range []string{l.Method, l.ExportID, l.File, l.PrincipalID, strconv.FormatInt(l.Expires.Unix(), 10), l.KeyID} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// Sign returns the link's signature, base64url without padding.
func (s LinkSigner) Sign(l Link) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write(l.message())
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// errBadLink is the one answer to any link that does not verify: which
// field was wrong is not disclosed.
var errBadLink = Errorf(EUNAUTHENTICATED, "invalid or expired download link")

// Verify checks the link's signature and that it is valid at now: the key
// id is the signer's, the signature matches (hmac.Equal), now is before
// Expires, and Expires is no further than MaxLinkTTL ahead.
func (s LinkSigner) Verify(l Link, sig string, now time.Time) error {
	if len(s.Key) == 0 || l.KeyID != s.KeyID {
		return errBadLink
	}
	// Strict: the last character's unused bits must be zero, so a link
	// has one signature, not four.
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return errBadLink
	}
	want, _ := base64.RawURLEncoding.DecodeString(s.Sign(l))
	if !hmac.Equal(got, want) {
		return errBadLink
	}
	if !now.Before(l.Expires) || l.Expires.After(now.Add(MaxLinkTTL)) {
		return errBadLink
	}
	return nil
}

// URL returns the link's path and query, relative to the server.
func (l Link) URL(sig string) string {
	q := url.Values{}
	q.Set("principal", l.PrincipalID)
	q.Set("expires", strconv.FormatInt(l.Expires.Unix(), 10))
	q.Set("kid", l.KeyID)
	q.Set("sig", sig)
	return "/v1/links/" + url.PathEscape(l.ExportID) + "/" + url.PathEscape(l.File) + "?" + q.Encode()
}
