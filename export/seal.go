package export

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
)

// SealedExt ends the names of files encrypted to a partner's age
// recipient.
const SealedExt = ".age"

// ParseAgeRecipient checks a partner's age X25519 recipient.
func ParseAgeRecipient(s string) (*age.X25519Recipient, error) {
	r, err := age.ParseX25519Recipient(strings.TrimSpace(s))
	if err != nil {
		return nil, Errorf(EINVALID, "age_recipient: not an age X25519 recipient (age1...)")
	}
	return r, nil
}

// seal encrypts each built file to the recipient: dir/NAME becomes
// dir/NAME.age (written through a temporary file, fsynced, renamed) and the
// plain file is removed. It returns the files as stored and served: the
// encrypted names, sizes and SHA-256s. The manifest inside keeps the plain
// names and SHA-256s, which a recipient checks after decrypting.
func seal(dir string, files []File, recipient string) ([]File, error) {
	r, err := ParseAgeRecipient(recipient)
	if err != nil {
		return nil, err
	}
	out := make([]File, 0, len(files))
	for _, f := range files {
		plain := filepath.Join(dir, f.Name)
		in, err := os.Open(plain)
		if err != nil {
			return nil, err
		}
		sealed := File{Name: f.Name + SealedExt, Table: f.Table, Rows: f.Rows}
		h := sha256.New()
		err = WriteFileAtomic(dir, sealed.Name, func(w io.Writer) error {
			cw := &countingWriter{w: io.MultiWriter(w, h)}
			aw, err := age.Encrypt(cw, r)
			if err != nil {
				return err
			}
			if _, err := io.Copy(aw, in); err != nil {
				return err
			}
			if err := aw.Close(); err != nil {
				return err
			}
			sealed.Size = cw.n
			return nil
		})
		in.Close()
		if err != nil {
			return nil, err
		}
		sealed.SHA256 = hex.EncodeToString(h.Sum(nil))
		if err := os.Remove(plain); err != nil {
			return nil, err
		}
		out = append(out, sealed)
	}
	return out, SyncDir(dir)
}
