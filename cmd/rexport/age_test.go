package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/api/client"
	"github.com/rexport/rexport/export"
)

// TestEncryptedDelivery registers a partner with an age recipient, builds
// an export for it, and checks that every stored and served file is
// encrypted (no Parquet magic, age header), that `rexport pull --identity`
// decrypts them to files that match the manifest and read back with their
// row counts, and that another identity cannot.
func TestEncryptedDelivery(t *testing.T) {
	env := setupE2E(t)
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	const pid = "partner-uni-d"
	recipient := id.Recipient().String()
	p, err := env.admin.CreatePartner(ctx, api.PartnerInput{Id: pid, Name: "Encrypted partner", AgeRecipient: &recipient,
		Dua: api.DUA{Reference: "DUA-AGE", AllowedTables: allAPITables()}})
	if err != nil {
		t.Fatal(err)
	}
	if p.AgeRecipient == nil || *p.AgeRecipient != recipient {
		t.Fatalf("partner's recipient: %v", p.AgeRecipient)
	}
	pidCopy := pid
	tok, err := env.admin.CreateToken(ctx, api.TokenInput{Name: "age researcher", Role: "researcher", PartnerId: &pidCopy})
	if err != nil {
		t.Fatal(err)
	}
	rc := client.New(env.url, tok.Token)
	e, err := rc.CreateExport(ctx, api.ExportRequest{Title: "encrypted", Purpose: "test", Courses: p.Courses,
		Tables: []api.Table{"learners", "grades"}})
	if err != nil {
		t.Fatal(err)
	}
	approve(t, env, e.Id, false)
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	ready, err := rc.WaitReady(wctx, e.Id, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ready.Files {
		if !strings.HasSuffix(f.Name, export.SealedExt) {
			t.Errorf("file %s of an encrypted partner's export is not sealed", f.Name)
		}
		var buf bytes.Buffer
		if _, err := rc.Download(ctx, e.Id, f.Name, f.Sha256, &buf); err != nil {
			t.Fatalf("download %s: %v", f.Name, err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("age-encryption.org/v1")) || bytes.Contains(buf.Bytes(), []byte("PAR1")) {
			t.Errorf("%s as served is not an age file", f.Name)
		}
	}
	// Nothing plain is stored (the default files store is the directory
	// <data>/exports), nor left behind where the build wrote.
	var stored []string
	err = filepath.WalkDir(filepath.Join(env.app.dataDir, "exports", e.Id), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			stored = append(stored, d.Name())
		}
		return err
	})
	if err != nil || len(stored) == 0 {
		t.Fatalf("no files stored (%v)", err)
	}
	if work, _ := filepath.Glob(filepath.Join(env.app.dataDir, "work", "build-"+e.Id+"*")); len(work) > 0 {
		t.Errorf("the build's working directory is still there: %v", work)
	}
	for _, name := range stored {
		if !strings.HasSuffix(name, export.SealedExt) && name != export.DeliveredName {
			t.Errorf("stored in the clear: %s", name)
		}
	}
	if _, err := rc.Manifest(ctx, e.Id); err == nil {
		t.Error("the JSON manifest route served an encrypted export's manifest")
	} else {
		assertStatus(t, err, http.StatusConflict)
	}
	// The server cannot read what it stores, so it has no Arrow stream.
	if status, body := httpDo(t, env.url, http.MethodGet, "/v1/exports/"+e.Id+"/tables/learners", tok.Token, nil); status != http.StatusConflict {
		t.Errorf("Arrow stream of an encrypted export: HTTP %d %s, want 409", status, body)
	}

	identity := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(identity, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pulled")
	out, err := pullCLI(t, env.url, tok.Token, e.Id, "--dir", dir, "--identity", identity, "--json")
	if err != nil {
		t.Fatalf("pull --identity: %v\n%s", err, out)
	}
	var res pullResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, export.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m export.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(res.Decrypted) != len(ready.Files) || len(m.Tables) != 2 {
		t.Fatalf("decrypted %v; manifest tables %d", res.Decrypted, len(m.Tables))
	}
	for _, mt := range m.Tables {
		data, err := os.ReadFile(filepath.Join(dir, mt.File))
		if err != nil {
			t.Fatal(err)
		}
		if tbl := readParquet(t, data); tbl.NumRows() != mt.Rows || mt.Rows == 0 {
			t.Errorf("%s: %d rows decrypted, manifest says %d", mt.File, tbl.NumRows(), mt.Rows)
		}
	}

	// Another identity cannot decrypt.
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(t.TempDir(), "other.txt")
	if err := os.WriteFile(wrong, []byte(other.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pullCLI(t, env.url, tok.Token, e.Id, "--dir", filepath.Join(t.TempDir(), "x"), "--identity", wrong); err == nil {
		t.Error("pull decrypted with another identity")
	}
}
