package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/internal/storetest"
)

type bundle struct {
	srv   *httptest.Server
	db    storetest.Store
	admin string
	logs  *bytes.Buffer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	svc := &export.Service{Store: db, NewID: func() string { return export.NewID("exp_") }}
	_, token, err := svc.CreatePrincipal(ctx, export.Principal{ID: "local-admin", Role: export.RoleAdmin}, "admin", export.RoleAdmin, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	h, err := api.NewHandler(api.Config{Service: svc, Store: db, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &bundle{srv: srv, db: db, admin: token, logs: logs}
}

func (b *bundle) do(t *testing.T, method, path, token, body string) (int, api.Error, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(token, "Basic "):
		req.Header.Set("Authorization", token)
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e api.Error
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(raw, &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("%s %s: error body is not {code, message}: %q", method, path, raw)
		}
	}
	return resp.StatusCode, e, resp.Header
}

func TestErrorMapping(t *testing.T) {
	b := setup(t)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"HealthNeedsNoToken", "GET", "/healthz", "", "", 200, ""},
		{"UnknownEndpoint", "GET", "/v1/nope", b.admin, "", 404, "not_found"},
		{"WrongMethod", "DELETE", "/v1/exports", b.admin, "", 404, "not_found"},
		{"MissingExport", "GET", "/v1/exports/exp_nothere", b.admin, "", 404, "not_found"},
		{"BadExportIDPattern", "GET", "/v1/exports/..%2F..%2Fetc", b.admin, "", 400, "invalid"},
		{"BadFileName", "GET", "/v1/exports/exp_x/files/.hidden", b.admin, "", 400, "invalid"},
		{"BadLimit", "GET", "/v1/exports?limit=0", b.admin, "", 400, "invalid"},
		{"BadState", "GET", "/v1/exports?state=lost", b.admin, "", 400, "invalid"},
		{"NoToken", "GET", "/v1/exports", "", "", 401, "unauthenticated"},
		{"WrongScheme", "GET", "/v1/exports", "Basic YTpi", "", 401, "unauthenticated"},
		{"PartnerWithoutCourses", "POST", "/v1/partners", b.admin, `{"id":"p1","name":"P","dua":{"reference":"r","allowed_tables":["grades"]}}`, 400, "invalid"},
		{"TokenUnknownRole", "POST", "/v1/tokens", b.admin, `{"name":"n","role":"root"}`, 400, "invalid"},
		{"AgreementLowersK", "POST", "/v1/partners", b.admin, `{"id":"p1","name":"P","courses":["c"],"dua":{"reference":"r","allowed_tables":["grades"],"k":3}}`, 400, "invalid"},
		{"AgreementUnknownPrecision", "POST", "/v1/partners", b.admin, `{"id":"p1","name":"P","courses":["c"],"dua":{"reference":"r","allowed_tables":["grades"],"finest_time_precision":"minute"}}`, 400, "invalid"},
		{"TokenPartnerUnknown", "POST", "/v1/tokens", b.admin, `{"name":"n","role":"researcher","partner_id":"ghost"}`, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e, h := b.do(t, tt.method, tt.path, tt.token, tt.body)
			if status != tt.status || string(e.Code) != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", status, e.Code, e.Message, tt.status, tt.code)
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a WWW-Authenticate: Bearer header")
			}
		})
	}
}

// TestInternalErrorHidesCause breaks the database under the server: the
// caller gets a bare "internal error", the log gets the cause.
func TestInternalErrorHidesCause(t *testing.T) {
	b := setup(t)
	drop := `DROP TABLE exports`
	if storetest.Postgres() {
		drop += " CASCADE" // other tables refer to it
	}
	if err := b.db.ExecRaw(context.Background(), drop); err != nil {
		t.Fatal(err)
	}
	status, e, _ := b.do(t, "GET", "/v1/exports", b.admin, "")
	if status != 500 || e.Code != "internal" || e.Message != "internal error" {
		t.Fatalf("got %d %q %q, want 500 internal \"internal error\"", status, e.Code, e.Message)
	}
	if !strings.Contains(b.logs.String(), "no such table") && !strings.Contains(b.logs.String(), "does not exist (SQLSTATE 42P01)") {
		t.Errorf("the cause was not logged:\n%s", b.logs.String())
	}
	if strings.Contains(b.logs.String(), b.admin) {
		t.Errorf("the log holds a bearer token")
	}
}
