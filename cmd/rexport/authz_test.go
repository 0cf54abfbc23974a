package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/api/client"
	"github.com/rexport/rexport/export"
)

// The principal kinds of the authorisation matrix.
type principalKind string

const (
	anonymous   principalKind = "anonymous"
	researcherA principalKind = "researcher-A"
	researcherB principalKind = "researcher-B"
	pipelineA   principalKind = "pipeline-A"
	reviewer    principalKind = "reviewer"
	admin       principalKind = "admin"
	revokedA    principalKind = "revoked" // a researcher of A whose token was revoked
	expiredA    principalKind = "expired" // a researcher of A whose token expired
)

var principalKinds = []principalKind{anonymous, researcherA, researcherB, pipelineA, reviewer, admin, revokedA, expiredA}

// The objects of a cell: none (a route on no object), or one owned by
// partner A or B (an export, a principal, or the partner a body names).
const (
	noObject = "-"
	objA     = "A"
	objB     = "B"
)

// authzTable is the expected status of every route for every principal
// kind and object. 2xx is an allow; everything else a deny. Another
// partner's object is 404, never 403; a missing, unknown, expired or
// revoked token is 401. Every route the router registers must be here, and
// nothing else.
//
// On /v1/links/{id}/{name} the request carries no token: the principal is
// the one the link is signed for (anonymous: a link with a bad signature).
var authzTable = map[string]map[string]map[principalKind]int{
	"GET /healthz": {
		noObject: {anonymous: 200, researcherA: 200, researcherB: 200, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 200, expiredA: 200},
	},
	"GET /readyz": {
		noObject: {anonymous: 200, researcherA: 200, researcherB: 200, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 200, expiredA: 200},
	},
	"GET /v1/openapi.yaml": {
		noObject: {anonymous: 200, researcherA: 200, researcherB: 200, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 200, expiredA: 200},
	},
	"GET /v1/sample": {
		noObject: {anonymous: 401, researcherA: 200, researcherB: 200, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"GET /v1/partners": {
		noObject: {anonymous: 401, researcherA: 403, researcherB: 403, pipelineA: 403, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"POST /v1/partners": {
		noObject: {anonymous: 401, researcherA: 403, researcherB: 403, pipelineA: 403, reviewer: 403, admin: 201, revokedA: 401, expiredA: 401},
	},
	"GET /v1/tokens": {
		noObject: {anonymous: 401, researcherA: 403, researcherB: 403, pipelineA: 403, reviewer: 403, admin: 200, revokedA: 401, expiredA: 401},
	},
	// The body names a pipeline of partner A or B.
	"POST /v1/tokens": {
		objA: {anonymous: 401, researcherA: 403, researcherB: 403, pipelineA: 403, reviewer: 403, admin: 201, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 403, researcherB: 403, pipelineA: 403, reviewer: 403, admin: 201, revokedA: 401, expiredA: 401},
	},
	// The token of a researcher of A or B.
	"DELETE /v1/tokens/{id}": {
		objA: {anonymous: 401, researcherA: 403, researcherB: 403, pipelineA: 403, reviewer: 403, admin: 204, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 403, researcherB: 403, pipelineA: 403, reviewer: 403, admin: 204, revokedA: 401, expiredA: 401},
	},
	"GET /v1/audit": {
		noObject: {anonymous: 401, researcherA: 403, researcherB: 403, pipelineA: 403, reviewer: 403, admin: 200, revokedA: 401, expiredA: 401},
	},
	// Lists are scoped: checked below to hold only the caller's partner.
	"GET /v1/exports": {
		noObject: {anonymous: 401, researcherA: 200, researcherB: 200, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	// The body names partner A's or B's courses (and the partner): a
	// researcher may only request for its own partner, a pipeline never.
	"POST /v1/exports": {
		objA: {anonymous: 401, researcherA: 201, researcherB: 400, pipelineA: 403, reviewer: 201, admin: 201, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 400, researcherB: 201, pipelineA: 403, reviewer: 201, admin: 201, revokedA: 401, expiredA: 401},
	},
	"GET /v1/exports/{id}": {
		objA: {anonymous: 401, researcherA: 200, researcherB: 404, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 200, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"POST /v1/exports/{id}/approve": {
		objA: {anonymous: 401, researcherA: 403, researcherB: 404, pipelineA: 403, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 403, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"POST /v1/exports/{id}/reject": {
		objA: {anonymous: 401, researcherA: 403, researcherB: 404, pipelineA: 403, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 403, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	// Only the requester (the researcher of the export's partner here)
	// cancels; staff revoke instead.
	"POST /v1/exports/{id}/cancel": {
		objA: {anonymous: 401, researcherA: 200, researcherB: 404, pipelineA: 403, reviewer: 403, admin: 403, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 200, pipelineA: 404, reviewer: 403, admin: 403, revokedA: 401, expiredA: 401},
	},
	"POST /v1/exports/{id}/retry": {
		objA: {anonymous: 401, researcherA: 403, researcherB: 404, pipelineA: 403, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 403, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"POST /v1/exports/{id}/revoke": {
		objA: {anonymous: 401, researcherA: 403, researcherB: 404, pipelineA: 403, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 403, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"POST /v1/exports/{id}/links": {
		objA: {anonymous: 401, researcherA: 201, researcherB: 404, pipelineA: 201, reviewer: 201, admin: 201, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 201, pipelineA: 404, reviewer: 201, admin: 201, revokedA: 401, expiredA: 401},
	},
	"GET /v1/exports/{id}/erasures": {
		objA: {anonymous: 401, researcherA: 200, researcherB: 404, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 200, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"GET /v1/exports/{id}/manifest": {
		objA: {anonymous: 401, researcherA: 200, researcherB: 404, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 200, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"GET /v1/exports/{id}/files/{name}": {
		objA: {anonymous: 401, researcherA: 200, researcherB: 404, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 200, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"GET /v1/exports/{id}/tables/{table}": {
		objA: {anonymous: 401, researcherA: 200, researcherB: 404, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 200, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
	"GET /v1/links/{id}/{name}": {
		objA: {anonymous: 401, researcherA: 200, researcherB: 404, pipelineA: 200, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
		objB: {anonymous: 401, researcherA: 404, researcherB: 200, pipelineA: 404, reviewer: 200, admin: 200, revokedA: 401, expiredA: 401},
	},
}

// matrixPrincipal is one principal of the matrix with its token.
type matrixPrincipal struct {
	id, token, partner string
}

// authzSetup is what the matrix's requests act on.
type authzSetup struct {
	t        *testing.T
	env      *e2e
	partner  map[string]string // objA/objB -> partner id
	who      map[principalKind]matrixPrincipal
	ready    map[string]*api.Export // a ready export per object
	file     map[string]string      // a dataset file of that export
	probes   map[string]string      // "route object" -> a shared object for denied cells
	newPartn string                 // a source partner not registered yet
}

func TestAuthorizationMatrix(t *testing.T) {
	env := setupE2E(t)
	s := newAuthzSetup(t, env)

	h, err := api.NewHandler(api.Config{})
	if err != nil {
		t.Fatal(err)
	}
	routes, err := api.Routes(h)
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, r := range routes {
		registered[r.String()] = true
		if _, ok := authzTable[r.String()]; !ok {
			t.Errorf("route %s is not in the authorisation table", r)
		}
	}
	for key, objs := range authzTable {
		if !registered[key] {
			t.Errorf("the authorisation table names %s, which the router does not serve", key)
		}
		for obj, row := range objs {
			for _, k := range principalKinds {
				if _, ok := row[k]; !ok {
					t.Errorf("%s (object %s): no expectation for %s", key, obj, k)
				}
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	var cells, allowed, unexpectedAllows int
	for _, r := range routes {
		key := r.String()
		objs := authzTable[key]
		for _, obj := range []string{noObject, objA, objB} {
			row, ok := objs[obj]
			if !ok {
				continue
			}
			for _, k := range principalKinds {
				want := row[k]
				if key == "POST /v1/partners" && k == admin && s.newPartn == "" {
					// Every source partner is registered (the test ran
					// before in this process): the admin passes
					// authorisation and meets the existing partner.
					want = http.StatusConflict
				}
				method, path, token, body := s.request(key, obj, k, is2xx(want))
				status, resp := s.do(method, path, token, body)
				cells++
				if is2xx(status) {
					allowed++
				}
				switch {
				case is2xx(status) && !is2xx(want):
					unexpectedAllows++
					t.Errorf("UNEXPECTED ALLOW: %s as %s on object %s: HTTP %d, want %d", key, k, obj, status, want)
				case status != want:
					t.Errorf("%s as %s on object %s: HTTP %d (%s), want %d", key, k, obj, status, strings.TrimSpace(string(resp)), want)
				}
				if status == http.StatusForbidden && obj != noObject && s.who[k].partner != "" && s.who[k].partner != s.partner[obj] &&
					strings.Contains(r.Path, "{id}") && !strings.HasPrefix(r.Path, "/v1/tokens/") {
					t.Errorf("%s as %s on partner %s's object: 403 discloses that it exists; want 404", key, k, obj)
				}
				if status >= 400 {
					checkErrorBody(t, key, k, status, resp)
				}
				if key == "GET /v1/exports" && status == http.StatusOK {
					s.checkListScope(k, resp)
				}
			}
		}
	}
	t.Logf("authorisation matrix: %d routes, %d principal kinds, %d cells, %d allowed, %d unexpected allows",
		len(routes), len(principalKinds), cells, allowed, unexpectedAllows)
	if unexpectedAllows != 0 {
		t.Errorf("%d unexpected allows, want 0", unexpectedAllows)
	}

	t.Run("UnknownExpiredRevokedTokensLookAlike", func(t *testing.T) {
		// The answer to a bad token does not say why it is bad.
		var first []byte
		for i, tok := range []string{export.TokenPrefix + "not-a-token", s.who[expiredA].token, s.who[revokedA].token} {
			status, body := s.do(http.MethodGet, "/v1/exports/"+s.ready[objA].Id, tok, nil)
			if status != http.StatusUnauthorized {
				t.Fatalf("token %d: HTTP %d, want 401", i, status)
			}
			if i == 0 {
				first = body
			} else if !bytes.Equal(body, first) {
				t.Errorf("token %d answers %s, an unknown token %s", i, body, first)
			}
		}
	})

	t.Run("OddPathsNeedATokenToo", func(t *testing.T) {
		// The public paths are decided on the decoded path, routes on the
		// raw one when they differ: no spelling may reach a private route
		// without a token.
		id := s.ready[objA].Id
		for _, p := range []string{
			"/v1/links/" + id + "/..%2F..%2Fexports%2F" + id,
			"/v1/links%2F..%2Fexports/" + id,
			"/v1/link%73/" + id + "/" + s.file[objA],
			"/v1/links/../exports/" + id,
			"/v1/exports/" + id + "%2Fmanifest",
			"/v1/exports/" + id + "/",
			"//v1/exports/" + id,
			"/healthz/../v1/exports/" + id,
			"/v1/exports/" + id + "/files/" + s.file[objA] + "?sig=x",
		} {
			if status, body := s.do(http.MethodGet, p, "", nil); is2xx(status) {
				t.Errorf("GET %s without a token: HTTP %d %.80s", p, status, body)
			}
		}
	})

	t.Run("LinkCreatedByResearcherWorksAnonymously", func(t *testing.T) {
		a := s.who[researcherA]
		status, body := s.do(http.MethodPost, "/v1/exports/"+s.ready[objA].Id+"/links", a.token, []byte(`{}`))
		if status != http.StatusCreated {
			t.Fatalf("creating links: HTTP %d %s", status, body)
		}
		var links api.LinkList
		if err := json.Unmarshal(body, &links); err != nil {
			t.Fatal(err)
		}
		if len(links.Links) != len(s.ready[objA].Files) {
			t.Fatalf("%d links for %d files", len(links.Links), len(s.ready[objA].Files))
		}
		for _, l := range links.Links {
			status, _ := s.do(http.MethodGet, l.Url, "", nil)
			if status != http.StatusOK {
				t.Errorf("link to %s used without a token: HTTP %d, want 200", l.Name, status)
			}
		}
		// The same link pointed at partner B's export is refused: the
		// signature covers the export.
		u := strings.Replace(links.Links[0].Url, s.ready[objA].Id, s.ready[objB].Id, 1)
		u = strings.Replace(u, "/"+links.Links[0].Name+"?", "/"+s.file[objB]+"?", 1)
		if status, _ := s.do(http.MethodGet, u, "", nil); status != http.StatusUnauthorized {
			t.Errorf("A's link re-pointed at B's export: HTTP %d, want 401", status)
		}
	})
}

// newAuthzSetup creates the matrix's principals and a ready export per
// partner.
func newAuthzSetup(t *testing.T, env *e2e) *authzSetup {
	t.Helper()
	ctx := context.Background()
	s := &authzSetup{t: t, env: env,
		partner: map[string]string{objA: env.partners[0], objB: env.partners[1]},
		who:     map[principalKind]matrixPrincipal{anonymous: {}},
		ready:   map[string]*api.Export{}, file: map[string]string{}, probes: map[string]string{}}
	create := func(name, role, partner string) matrixPrincipal {
		in := api.TokenInput{Name: name, Role: api.TokenInputRole(role)}
		if partner != "" {
			in.PartnerId = &partner
		}
		tok, err := env.admin.CreateToken(ctx, in)
		if err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		return matrixPrincipal{id: tok.PrincipalId, token: tok.Token, partner: partner}
	}
	pa, pb := s.partner[objA], s.partner[objB]
	s.who[researcherA] = create("matrix researcher A", "researcher", pa)
	s.who[researcherB] = create("matrix researcher B", "researcher", pb)
	s.who[pipelineA] = create("matrix pipeline A", "pipeline", pa)
	s.who[reviewer] = create("matrix reviewer", "reviewer", "")
	s.who[admin] = create("matrix admin", "admin", "")
	rev := create("matrix revoked researcher A", "researcher", pa)
	if status, body := s.do(http.MethodDelete, "/v1/tokens/"+rev.id, s.who[admin].token, nil); status != http.StatusNoContent {
		t.Fatalf("revoking a token: HTTP %d %s", status, body)
	}
	s.who[revokedA] = rev
	// No API makes a token that has already expired: write one to the
	// store.
	token, hash, err := export.NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	exp := export.Principal{ID: export.NewID("prn_"), Name: "matrix expired researcher A", Role: export.RoleResearcher, PartnerID: pa,
		CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour).Truncate(time.Second)}
	if err := env.app.meta.CreatePrincipal(ctx, exp, hash, s.who[admin].id); err != nil {
		t.Fatal(err)
	}
	s.who[expiredA] = matrixPrincipal{id: exp.ID, token: token, partner: pa}

	registered := map[string]bool{}
	partners, err := env.app.meta.Partners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range partners {
		registered[p.ID] = true
	}
	for _, p := range env.partners[2:] {
		if !registered[p] {
			s.newPartn = p
			break
		}
	}

	for _, obj := range []string{objA, objB} {
		id := s.submit(obj, false)
		s.approveAsStaff(id)
		rc := client.New(env.url, s.researcherOf(obj).token)
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		e, err := rc.WaitReady(wctx, id, 20*time.Millisecond, nil)
		cancel()
		if err != nil {
			t.Fatalf("waiting for partner %s's export: %v", obj, err)
		}
		s.ready[obj] = e
		for _, f := range e.Files {
			if f.Table != nil {
				s.file[obj] = f.Name
				break
			}
		}
	}
	return s
}

func (s *authzSetup) researcherOf(obj string) matrixPrincipal {
	if obj == objA {
		return s.who[researcherA]
	}
	return s.who[researcherB]
}

// submit files a request of the object's researcher and returns its id;
// sensitive requests need two approvals, so one leaves them submitted.
func (s *authzSetup) submit(obj string, sensitive bool) string {
	s.t.Helper()
	tables := []string{export.TableCourses, export.TableEnrollments}
	body := mustJSON(s.t, map[string]any{"title": "authorisation matrix", "purpose": "test", "courses": partnerCourses(s.t, s.env, s.partner[obj]),
		"tables": tables, "include_sensitive": sensitive})
	status, resp := s.do(http.MethodPost, "/v1/exports", s.researcherOf(obj).token, body)
	if status != http.StatusCreated {
		s.t.Fatalf("submitting for %s: HTTP %d %s", obj, status, resp)
	}
	var e api.Export
	if err := json.Unmarshal(resp, &e); err != nil {
		s.t.Fatal(err)
	}
	return e.Id
}

// approveAsStaff approves with the shared reviewer, who is not one of the
// matrix's principals.
func (s *authzSetup) approveAsStaff(id string) {
	s.t.Helper()
	if _, err := s.env.reviewer.Approve(context.Background(), id); err != nil {
		s.t.Fatalf("approving %s: %v", id, err)
	}
}

// object returns the id of an object for a cell of a route that changes
// it: a fresh one when the cell should be allowed (it will change), else
// one shared by the route's denied cells (it must not change).
func (s *authzSetup) object(key, obj string, fresh bool, newObject func() string) string {
	if fresh {
		return newObject()
	}
	pk := key + " " + obj
	if id, ok := s.probes[pk]; ok {
		return id
	}
	id := newObject()
	s.probes[pk] = id
	return id
}

// request returns the request of one cell.
func (s *authzSetup) request(key, obj string, k principalKind, allow bool) (method, path, token string, body []byte) {
	t := s.t
	t.Helper()
	method, _, _ = strings.Cut(key, " ")
	token = s.who[k].token
	partner := s.partner[obj]
	exp := s.ready[obj]
	switch key {
	case "GET /healthz", "GET /readyz", "GET /v1/openapi.yaml", "GET /v1/sample", "GET /v1/partners", "GET /v1/tokens", "GET /v1/audit", "GET /v1/exports":
		return method, strings.TrimPrefix(key, "GET "), token, nil
	case "POST /v1/partners":
		id := s.newPartn
		if id == "" {
			id = s.partner[objA]
		}
		return method, "/v1/partners", token, mustJSON(t, api.PartnerInput{Id: id, Name: "Partner " + id,
			Dua: api.DUA{Reference: "DUA-" + id, AllowedTables: []api.Table{api.Table(export.TableCourses)}}})
	case "POST /v1/tokens":
		return method, "/v1/tokens", token, mustJSON(t, api.TokenInput{Name: "matrix pipeline", Role: "pipeline", PartnerId: &partner})
	case "DELETE /v1/tokens/{id}":
		id := s.object(key, obj, allow, func() string {
			tok, err := s.env.admin.CreateToken(context.Background(), api.TokenInput{Name: "matrix victim", Role: "researcher", PartnerId: &partner})
			if err != nil {
				t.Fatal(err)
			}
			return tok.PrincipalId
		})
		return method, "/v1/tokens/" + id, token, nil
	case "POST /v1/exports":
		return method, "/v1/exports", token, mustJSON(t, map[string]any{"title": "matrix request", "purpose": "test",
			"courses": partnerCourses(t, s.env, partner), "tables": []string{export.TableCourses}, "partner_id": partner})
	case "GET /v1/exports/{id}":
		return method, "/v1/exports/" + exp.Id, token, nil
	case "POST /v1/exports/{id}/approve":
		// Sensitive: one approval leaves it submitted, and nothing builds.
		id := s.object(key, obj, allow, func() string { return s.submit(obj, true) })
		return method, "/v1/exports/" + id + "/approve", token, nil
	case "POST /v1/exports/{id}/reject":
		id := s.object(key, obj, allow, func() string { return s.submit(obj, false) })
		return method, "/v1/exports/" + id + "/reject", token, []byte(`{"reason": "authorisation matrix"}`)
	case "POST /v1/exports/{id}/cancel":
		id := s.object(key, obj, allow, func() string { return s.submit(obj, false) })
		return method, "/v1/exports/" + id + "/cancel", token, nil
	case "POST /v1/exports/{id}/retry":
		id := s.object(key, obj, allow, func() string {
			// A failed build cannot be had on demand: the store records
			// an approval without queueing the build (as if a second one
			// were required) and moves the request to failed.
			ctx := context.Background()
			id := s.submit(obj, false)
			if _, err := s.env.app.meta.Decide(ctx, id, export.Decision{ReviewerID: s.env.reviewerID, Approved: true, At: time.Now().UTC()}, 2); err != nil {
				t.Fatal(err)
			}
			if _, err := s.env.app.meta.Act(ctx, id, export.Act{By: s.env.reviewerID, Action: "test-fail",
				From: []export.State{export.StateSubmitted}, To: export.StateFailed}); err != nil {
				t.Fatal(err)
			}
			return id
		})
		return method, "/v1/exports/" + id + "/retry", token, nil
	case "POST /v1/exports/{id}/revoke":
		id := s.object(key, obj, allow, func() string {
			id := s.submit(obj, false)
			s.approveAsStaff(id)
			return id
		})
		return method, "/v1/exports/" + id + "/revoke", token, []byte(`{"reason": "authorisation matrix"}`)
	case "POST /v1/exports/{id}/links":
		return method, "/v1/exports/" + exp.Id + "/links", token, []byte(`{}`)
	case "GET /v1/exports/{id}/erasures":
		return method, "/v1/exports/" + exp.Id + "/erasures", token, nil
	case "GET /v1/exports/{id}/manifest":
		return method, "/v1/exports/" + exp.Id + "/manifest", token, nil
	case "GET /v1/exports/{id}/files/{name}":
		return method, "/v1/exports/" + exp.Id + "/files/" + s.file[obj], token, nil
	case "GET /v1/exports/{id}/tables/{table}":
		table := ""
		for _, f := range exp.Files {
			if f.Name == s.file[obj] && f.Table != nil {
				table = *f.Table
			}
		}
		return method, "/v1/exports/" + exp.Id + "/tables/" + table, token, nil
	case "GET /v1/links/{id}/{name}":
		signer := s.env.app.svc.Links
		l := export.Link{Method: http.MethodGet, ExportID: exp.Id, File: s.file[obj], PrincipalID: s.who[k].id,
			Expires: time.Now().Add(time.Hour).Truncate(time.Second), KeyID: signer.KeyID}
		sig := signer.Sign(l)
		if k == anonymous {
			// Nobody signed it: a signature under another key.
			l.PrincipalID = "prn_nobody"
			sig = export.LinkSigner{KeyID: signer.KeyID, Key: []byte("not the server's key")}.Sign(l)
		}
		return method, l.URL(sig), "", nil
	}
	t.Fatalf("no request for route %s: add one to authzSetup.request", key)
	return
}

// do sends a request to the service with the token (none if empty).
func (s *authzSetup) do(method, path, token string, body []byte) (int, []byte) {
	s.t.Helper()
	return httpDo(s.t, s.env.url, method, path, token, body)
}

// httpDo sends a request with a bearer token (none if empty) and returns
// the status and body.
func httpDo(t *testing.T, baseURL, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// checkListScope checks that a partner's principal lists only its
// partner's exports.
func (s *authzSetup) checkListScope(k principalKind, body []byte) {
	s.t.Helper()
	var list api.ExportList
	if err := json.Unmarshal(body, &list); err != nil {
		s.t.Fatal(err)
	}
	own := s.who[k].partner
	var partners []string
	for _, e := range list.Exports {
		if !slices.Contains(partners, e.PartnerId) {
			partners = append(partners, e.PartnerId)
		}
	}
	switch {
	case own != "" && (len(partners) != 1 || partners[0] != own):
		s.t.Errorf("GET /v1/exports as %s lists exports of partners %v, want only %s", k, partners, own)
	case own == "" && len(partners) < 2:
		s.t.Errorf("GET /v1/exports as %s lists exports of partners %v, want every partner's", k, partners)
	}
}

// checkErrorBody checks that a refusal is the API's error object, with
// the code of its status.
func checkErrorBody(t *testing.T, key string, k principalKind, status int, body []byte) {
	t.Helper()
	codes := map[int]string{400: export.EINVALID, 401: export.EUNAUTHENTICATED, 403: export.EFORBIDDEN, 404: export.ENOTFOUND, 409: export.ECONFLICT}
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("%s as %s: HTTP %d with a body that is not an error object: %q", key, k, status, body)
		return
	}
	if want := codes[status]; want != "" && string(e.Code) != want {
		t.Errorf("%s as %s: HTTP %d with code %q, want %q", key, k, status, e.Code, want)
	}
}

func is2xx(status int) bool { return status >= 200 && status < 300 }
