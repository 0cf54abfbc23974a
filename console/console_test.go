package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rexport/rexport/console"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/internal/storetest"
)

type fixture struct {
	srv      *httptest.Server
	db       storetest.Store
	svc      *export.Service
	reviewer export.Principal
	tokens   map[string]string // by role
	exportID string
}

var admin = export.Principal{ID: "local-admin", Role: export.RoleAdmin}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	db.DiscardJobs()
	f := &fixture{db: db, tokens: map[string]string{}}
	f.svc = &export.Service{Store: db, NewID: func() string { return export.NewID("exp_") }}
	if err := db.CreatePartner(ctx, export.Partner{ID: "p1", Name: "P1", Courses: []string{"c1"},
		DUA: export.DUA{Reference: "D", AllowedTables: []string{"grades"}}}, "admin"); err != nil {
		t.Fatal(err)
	}
	var researcher export.Principal
	for _, r := range []struct {
		role    export.Role
		partner string
	}{{export.RoleReviewer, ""}, {export.RoleResearcher, "p1"}} {
		p, tok, err := f.svc.CreatePrincipal(ctx, admin, string(r.role), r.role, r.partner, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[string(r.role)] = tok
		if r.role == export.RoleReviewer {
			f.reviewer = p
		} else {
			researcher = p
		}
	}
	e, err := f.svc.Submit(ctx, researcher, "", export.Request{Title: "T", Purpose: "P", Courses: []string{"c1"}, Tables: []string{"grades"}})
	if err != nil {
		t.Fatal(err)
	}
	f.exportID = e.ID
	h, err := console.New(console.Config{Service: f.svc, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// client is a browser stand-in: a cookie jar, no redirects followed.
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, origin string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs in with token and returns the session's CSRF token.
func (f *fixture) signIn(t *testing.T, c *http.Client, token string) (*http.Response, string) {
	t.Helper()
	_, page := get(t, c, f.srv.URL+"/console/")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("sign-in page has no CSRF token")
	}
	resp, _ := post(t, c, f.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "token": {token}}, f.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		return resp, ""
	}
	_, page = get(t, c, f.srv.URL+"/console/queue")
	m = csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("queue page has no CSRF token")
	}
	return resp, m[1]
}

func TestSessionCookieIsHttpOnlyStrict(t *testing.T) {
	f := setup(t)
	resp, _ := f.signIn(t, client(t), f.tokens["reviewer"])
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == "rexport_console" && ck.Value != "" {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console/" {
				t.Errorf("session cookie: HttpOnly=%v SameSite=%v Path=%q", ck.HttpOnly, ck.SameSite, ck.Path)
			}
			if strings.Contains(ck.Value, f.tokens["reviewer"]) {
				t.Error("the session cookie holds the token")
			}
		}
	}
	if !found {
		t.Fatal("no session cookie after sign-in")
	}
}

func TestOnlyStaffSignIn(t *testing.T) {
	f := setup(t)
	for _, tok := range []string{f.tokens["researcher"], "rx_not-a-token", ""} {
		resp, _ := f.signIn(t, client(t), tok)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("sign-in with a non-staff or bad token: %d, want 401", resp.StatusCode)
		}
	}
	// A login form without the login cookie's CSRF value is refused.
	c := client(t)
	resp, _ := post(t, c, f.srv.URL+"/console/login", url.Values{"csrf": {"guess"}, "token": {f.tokens["reviewer"]}}, f.srv.URL)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without the CSRF cookie: %d, want 403", resp.StatusCode)
	}
}

func TestFormsNeedTheSessionCSRFToken(t *testing.T) {
	f := setup(t)
	c := client(t)
	_, csrf := f.signIn(t, c, f.tokens["reviewer"])
	approve := f.srv.URL + "/console/exports/" + f.exportID + "/approve"
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", url.Values{}, f.srv.URL},
		{"wrong token", url.Values{"csrf": {csrf + "x"}}, f.srv.URL},
		{"right token, other origin", url.Values{"csrf": {csrf}}, "https://evil.example"},
		{"right token, opaque origin", url.Values{"csrf": {csrf}}, "null"},
	} {
		if resp, _ := post(t, c, approve, tc.form, tc.origin); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, resp.StatusCode)
		}
	}
	e, err := f.db.Export(context.Background(), f.exportID, "", true)
	if err != nil || e.State != export.StateSubmitted || len(e.Decisions) != 0 {
		t.Fatalf("after refused forms: %+v %v", e, err)
	}
	resp, _ := post(t, c, approve, url.Values{"csrf": {csrf}, "note": {"ok"}}, f.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve with the CSRF token: %d", resp.StatusCode)
	}
	if e, _ := f.db.Export(context.Background(), f.exportID, "", true); e.State != export.StateQueued || e.Decisions[0].Reason != "ok" {
		t.Errorf("after approval: state %s, decisions %+v", e.State, e.Decisions)
	}
}

func TestRevokedTokenEndsItsSessions(t *testing.T) {
	f := setup(t)
	c := client(t)
	f.signIn(t, c, f.tokens["reviewer"])
	if resp, _ := get(t, c, f.srv.URL+"/console/queue"); resp.StatusCode != http.StatusOK {
		t.Fatalf("queue: %d", resp.StatusCode)
	}
	if err := f.svc.RevokePrincipal(context.Background(), admin, f.reviewer.ID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, c, f.srv.URL+"/console/queue"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("queue after the token was revoked: %d, want a redirect to sign in", resp.StatusCode)
	}
}

func TestPagesSendSecurityHeaders(t *testing.T) {
	f := setup(t)
	resp, _ := get(t, client(t), f.srv.URL+"/console/")
	for h, want := range map[string]string{
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"Content-Security-Policy": "default-src 'none'",
	} {
		if got := resp.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}
