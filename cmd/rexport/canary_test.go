package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/api/client"
	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/export"
)

// TestCanary runs a service with a known master key and known tokens
// through a full export and a round of refused requests, then looks for
// the secrets and the learners' identifiers everywhere they could leak:
// the log (JSON, debug level), every error body, every audit entry, and
// every value of every file delivered.
func TestCanary(t *testing.T) {
	setupE2E(t) // before the environment changes: it is shared
	sum := sha256.Sum256([]byte("rexport canary master key"))
	key := deidentify.MasterKey(sum)
	t.Setenv(masterKeyEnv, key.Encode())
	var logs syncBuffer
	env := newInstance(t, appOptions{Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if env.app.master != key {
		t.Fatalf("the service did not load the master key from %s", masterKeyEnv)
	}
	ctx := context.Background()
	partnerA, partnerB := env.partners[0], env.partners[1]

	needles := map[string]string{
		hex.EncodeToString(key[:]):                   "master key (hex)",
		strings.ToUpper(hex.EncodeToString(key[:])):  "master key (HEX)",
		base64.StdEncoding.EncodeToString(key[:]):    "master key (base64)",
		base64.RawStdEncoding.EncodeToString(key[:]): "master key (base64, no padding)",
		base64.URLEncoding.EncodeToString(key[:]):    "master key (base64url)",
		base64.RawURLEncoding.EncodeToString(key[:]): "master key (base64url, no padding)",
	}
	tokens := 0
	addToken := func(what, token string) {
		tokens++
		needles[token] = what
		needles[strings.TrimPrefix(token, export.TokenPrefix)] = what + " (without its prefix)"
	}
	addToken("admin token", env.admin.Token)
	addToken("reviewer token", env.reviewer.Token)
	addToken("second reviewer token", env.reviewer2.Token)
	for pid, rc := range env.researchers {
		addToken("researcher token of "+pid, rc.Token)
	}
	pid := partnerA
	pipe, err := env.admin.CreateToken(ctx, api.TokenInput{Name: "canary pipeline", Role: "pipeline", PartnerId: &pid})
	if err != nil {
		t.Fatal(err)
	}
	addToken("pipeline token", pipe.Token)
	// A token that is wrong is still a secret someone mistyped.
	badToken, _, err := export.NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	addToken("refused token", badToken)
	rows, err := env.source.Query(`SELECT learner_id, email FROM learners`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			t.Fatal(err)
		}
		needles[id], needles[email] = "learner_id", "learner email"
	}
	rows.Close()

	// A full export with free text, two approvals, every file downloaded
	// by token (researcher, pipeline) and by signed link.
	b := buildExport(t, env, partnerA, allAPITables(), true)
	ready, err := env.researchers[partnerA].Export(ctx, b.id)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, rc := range []*client.Client{env.researchers[partnerA], client.New(env.url, pipe.Token)} {
		for _, f := range ready.Files {
			var buf bytes.Buffer
			if _, err := rc.Download(ctx, b.id, f.Name, f.Sha256, &buf); err != nil {
				t.Fatalf("Download %s: %v", f.Name, err)
			}
			files[f.Name] = buf.Bytes()
		}
	}
	status, body := httpDo(t, env.url, http.MethodPost, "/v1/exports/"+b.id+"/links", env.researchers[partnerA].Token, []byte(`{}`))
	if status != http.StatusCreated {
		t.Fatalf("creating links: HTTP %d %s", status, body)
	}
	var links api.LinkList
	if err := json.Unmarshal(body, &links); err != nil {
		t.Fatal(err)
	}
	for _, l := range links.Links {
		if status, _ := httpDo(t, env.url, http.MethodGet, l.Url, "", nil); status != http.StatusOK {
			t.Fatalf("signed link to %s: HTTP %d", l.Name, status)
		}
		if i := strings.Index(l.Url, "sig="); i >= 0 {
			needles[l.Url[i+len("sig="):]] = "signed link signature"
		}
	}

	// Refused requests of every kind; their bodies are scanned.
	type errorBody struct{ request, body string }
	var errorBodies []errorBody
	refuse := func(wantStatus int, method, path, token string, body []byte) {
		t.Helper()
		status, resp := httpDo(t, env.url, method, path, token, body)
		if status != wantStatus {
			t.Errorf("%s %s: HTTP %d, want %d", method, path, status, wantStatus)
		}
		errorBodies = append(errorBodies, errorBody{fmt.Sprintf("%s %s (%d)", method, path, wantStatus), string(resp)})
	}
	tokA, tokB := env.researchers[partnerA].Token, env.researchers[partnerB].Token
	validBody := mustJSON(t, map[string]any{"title": "t", "purpose": "p", "courses": b.courses, "tables": []string{"grades"}})
	refuse(401, "GET", "/v1/exports", badToken, nil)
	refuse(401, "GET", "/v1/exports/"+b.id, "", nil)
	refuse(401, "GET", "/v1/exports/"+b.id+"/files/"+export.ManifestName, env.admin.Token+"x", nil)
	refuse(400, "POST", "/v1/exports", tokA, []byte(`{"title": "t", "purpose": `))
	refuse(400, "POST", "/v1/exports", tokA, []byte(`{"title": "t", "purpose": "p", "courses": ["nope"], "tables": ["grades"], "shoe_size": 42}`))
	refuse(400, "POST", "/v1/exports", tokB, validBody)
	refuse(400, "POST", "/v1/exports/"+b.id+"/reject", env.reviewer.Token, []byte(`{"reason": ""}`))
	refuse(403, "POST", "/v1/exports", pipe.Token, validBody)
	refuse(403, "GET", "/v1/audit", tokA, nil)
	refuse(404, "GET", "/v1/exports/exp_doesnotexist", tokA, nil)
	refuse(404, "GET", "/v1/exports/"+b.id, tokB, nil)
	refuse(404, "GET", "/v1/exports/"+b.id+"/files/nothing.parquet", tokA, nil)
	refuse(400, "GET", "/v1/exports/"+b.id+"/files/.delivered", tokA, nil) // the spec's file name pattern
	refuse(404, "GET", "/v1/nowhere", tokA, nil)
	refuse(409, "POST", "/v1/exports/"+b.id+"/approve", env.admin.Token, nil)
	refuse(409, "POST", "/v1/exports/"+b.id+"/cancel", tokA, nil)
	if len(links.Links) > 0 {
		refuse(401, "GET", strings.Replace(links.Links[0].Url, "sig=", "sig=A", 1), "", nil)
	}

	// The audit log, page by page as the API serves it.
	var auditPages []string
	var entries int
	after := int64(0)
	for {
		status, body := httpDo(t, env.url, http.MethodGet, fmt.Sprintf("/v1/audit?limit=50&after=%d", after), env.admin.Token, nil)
		if status != http.StatusOK {
			t.Fatalf("GET /v1/audit: HTTP %d %s", status, body)
		}
		auditPages = append(auditPages, string(body))
		var page api.AuditPage
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		entries += len(page.Entries)
		if page.NextAfter == nil {
			break
		}
		after = *page.NextAfter
	}
	all, err := env.app.meta.AuditLog(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if entries != len(all) || entries < 20 {
		t.Errorf("the audit pages hold %d entries, the log %d", entries, len(all))
	}
	status, body = httpDo(t, env.url, http.MethodGet, "/v1/tokens", env.admin.Token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/tokens: HTTP %d", status)
	}
	tokenList := string(body)

	m := newMatcher(needles)
	var scanned int
	scan := func(where, text string) {
		t.Helper()
		scanned++
		if needle, kind, ok := m.find(text); ok {
			t.Errorf("%s: a %s (%d bytes) appears", where, kind, len(needle))
		}
	}
	log := logs.String()
	if !strings.Contains(log, `"level":"DEBUG"`) && !strings.Contains(log, `"msg":"request"`) {
		t.Fatalf("the service logged nothing the test can check")
	}
	for i, line := range strings.Split(log, "\n") {
		scan(fmt.Sprintf("log line %d", i+1), line)
	}
	for _, e := range errorBodies {
		scan("error body of "+e.request, e.body)
	}
	for i, p := range auditPages {
		scan(fmt.Sprintf("audit page %d", i+1), p)
	}
	scan("GET /v1/tokens", tokenList)
	for name, data := range files {
		scan(name+" (bytes)", string(data))
		if !strings.HasSuffix(name, ".parquet") {
			continue
		}
		rdr, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		kv := rdr.MetaData().KeyValueMetadata()
		for i := range kv.Len() {
			scan(name+" metadata "+kv.Keys()[i], kv.Values()[i])
		}
		rdr.Close()
		for _, v := range allValues(readParquet(t, data)) {
			scan(name+" value", v)
		}
	}
	t.Logf("canary: %d needles (%d tokens), %d texts scanned: %d log lines, %d error bodies, %d audit entries, %d files",
		len(needles), tokens, scanned, strings.Count(log, "\n"), len(errorBodies), entries, len(files))
}
