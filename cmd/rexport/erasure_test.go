package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/export"
)

// deliveredLearners maps the raw id of every learner an export holds rows
// of to the pseudonym the partner received, computed independently of the
// service with ps; in reports whether the learner is in learners.parquet.
func deliveredLearners(t *testing.T, env *e2e, b *builtExport, ps *deidentify.Pseudonymizer) (delivered map[string]string, in map[string]bool) {
	t.Helper()
	rows, err := env.source.Query(`SELECT learner_id FROM learners`)
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		raw[ps.Pseudonym(deidentify.KindLearner, id)] = id
	}
	rows.Close()
	delivered, in = map[string]string{}, map[string]bool{}
	for name, tbl := range b.tables {
		for _, p := range stringColumn(t, tbl, "learner_id") {
			id, ok := raw[p]
			if !ok {
				t.Fatalf("%s: learner_id %q is not the pseudonym of any source learner", name, p)
			}
			delivered[id] = p
			if name == export.TableLearners {
				in[p] = true
			}
		}
	}
	return delivered, in
}

// TestErasuresAfterDelivery changes learners in the source after exports
// were delivered, on a service of its own (the shared one's source stays as
// generated), and checks that each export's erasures list exactly the
// delivered learners who were since deleted or opted out, under the
// pseudonyms that export gave them.
func TestErasuresAfterDelivery(t *testing.T) {
	env := newInstance(t, appOptions{})
	ctx := context.Background()
	partnerA, partnerB := env.partners[0], env.partners[1]
	tables := []api.Table{api.Table(export.TableLearners), api.Table(export.TableForumPosts)}
	a := buildExport(t, env, partnerA, tables, false)
	// The same data under request linkage: pseudonyms of its own.
	linkage := api.ExportRequestLinkageRequest
	r := buildRequest(t, env, partnerA, api.ExportRequest{Title: "unlinkable", Purpose: "erasure test", Courses: a.courses, Tables: tables, Linkage: &linkage})
	if r.manifest.Pseudonyms.Scope != string(deidentify.ScopeRequest) {
		t.Fatalf("request-linkage export has pseudonym scope %q", r.manifest.Pseudonyms.Scope)
	}

	psA, err := deidentify.NewPseudonymizer(env.app.master, deidentify.KeyParams{Partner: partnerA, Scope: deidentify.ScopePartner, Version: a.manifest.Pseudonyms.KeyVersion})
	if err != nil {
		t.Fatal(err)
	}
	psR, err := deidentify.NewPseudonymizer(env.app.master, deidentify.KeyParams{Partner: partnerA, Scope: deidentify.ScopeRequest, RequestID: r.id, Version: r.manifest.Pseudonyms.KeyVersion})
	if err != nil {
		t.Fatal(err)
	}
	deliveredA, inLearnersA := deliveredLearners(t, env, a, psA)
	deliveredR, inLearnersR := deliveredLearners(t, env, r, psR)
	var candidates []string // delivered in the learners table of both, sorted
	for raw, p := range deliveredA {
		if inLearnersA[p] && inLearnersR[deliveredR[raw]] {
			candidates = append(candidates, raw)
		}
	}
	slices.Sort(candidates)
	if len(candidates) < 20 {
		t.Fatalf("only %d learners delivered; the fixtures are too small for the test", len(candidates))
	}

	// Delivered learners to change: deleted, opted out, both (deletion is
	// the stronger reason), and one who has since left the export's
	// courses (no longer on their roster, but the partner holds their rows
	// all the same) and deleted the account.
	deleted, optedOut, both := candidates[0:3], candidates[3:6], candidates[6]
	inCourses := `course_id IN ('` + strings.Join(a.courses, "','") + `')`
	var unenrolled string
	if err := env.source.QueryRow(`SELECT learner_id FROM forum_posts WHERE ` + inCourses + `
		AND learner_id IN ('` + strings.Join(candidates[7:], "','") + `') ORDER BY learner_id LIMIT 1`).Scan(&unenrolled); err != nil {
		t.Fatalf("finding a delivered learner with forum posts: %v", err)
	}
	// Learners the exports did not deliver: one excluded already (opted
	// out before the build), one enrolled only in other partners' courses.
	enrolledA := `SELECT learner_id FROM enrollments WHERE ` + inCourses
	var optedOutBefore, otherPartners string
	if err := env.source.QueryRow(`SELECT learner_id FROM learners WHERE research_opt_out = 1 AND deleted_at IS NULL AND learner_id IN (` + enrolledA + `) ORDER BY learner_id LIMIT 1`).Scan(&optedOutBefore); err != nil {
		t.Fatalf("finding a learner of partner A who opted out before the build: %v", err)
	}
	if err := env.source.QueryRow(`SELECT learner_id FROM learners WHERE research_opt_out = 0 AND deleted_at IS NULL AND learner_id NOT IN (` + enrolledA + `) ORDER BY learner_id LIMIT 1`).Scan(&otherPartners); err != nil {
		t.Fatalf("finding a learner not enrolled with partner A: %v", err)
	}
	for _, raw := range []string{optedOutBefore, otherPartners} {
		if _, ok := deliveredA[raw]; ok {
			t.Fatal("a learner chosen as not delivered was delivered")
		}
	}

	src, err := sql.Open("sqlite", "file:"+filepath.Join(env.dir, "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := src.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Format(time.RFC3339)
	exec(`DELETE FROM enrollments WHERE learner_id = ? AND `+inCourses, unenrolled)
	for _, raw := range append(slices.Clone(deleted), both, unenrolled, optedOutBefore, otherPartners) {
		exec(`UPDATE learners SET deleted_at = ? WHERE learner_id = ?`, now, raw)
	}
	for _, raw := range append(slices.Clone(optedOut), both) {
		exec(`UPDATE learners SET research_opt_out = 1 WHERE learner_id = ?`, raw)
	}

	reasons := map[string]string{both: export.ExcludedDeleted, unenrolled: export.ExcludedDeleted}
	for _, raw := range deleted {
		reasons[raw] = export.ExcludedDeleted
	}
	for _, raw := range optedOut {
		reasons[raw] = export.ExcludedOptedOut
	}
	want := func(delivered map[string]string) []api.Erasure {
		var out []api.Erasure
		for raw, reason := range reasons {
			out = append(out, api.Erasure{Pseudonym: delivered[raw], Reason: api.ErasureReason(reason)})
		}
		slices.SortFunc(out, func(x, y api.Erasure) int { return strings.Compare(x.Pseudonym, y.Pseudonym) })
		return out
	}
	erasures := func(t *testing.T, token, id string) (int, api.ErasureList) {
		t.Helper()
		status, body := httpDo(t, env.url, http.MethodGet, "/v1/exports/"+id+"/erasures", token, nil)
		var list api.ErasureList
		if status == http.StatusOK {
			if err := json.Unmarshal(body, &list); err != nil {
				t.Fatal(err)
			}
		}
		return status, list
	}

	for _, tc := range []struct {
		name      string
		b         *builtExport
		delivered map[string]string
		inLearner map[string]bool
	}{
		{"ListsExactlyTheDeliveredLearnersChanged", a, deliveredA, inLearnersA},
		{"UnderTheExportsOwnPseudonyms", r, deliveredR, inLearnersR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, list := erasures(t, env.researchers[partnerA].Token, tc.b.id)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d", status)
			}
			if list.ExportId != tc.b.id {
				t.Errorf("export_id %q, want %q", list.ExportId, tc.b.id)
			}
			if diff := cmp.Diff(want(tc.delivered), list.Erasures); diff != "" {
				t.Errorf("erasures mismatch (-want +got):\n%s", diff)
			}
			for _, e := range list.Erasures {
				if !tc.inLearner[e.Pseudonym] {
					t.Errorf("erasure %s is not a learner_id of the learners.parquet delivered", e.Pseudonym)
				}
			}
		})
	}

	t.Run("PipelineCanPoll", func(t *testing.T) {
		pid := partnerA
		tok, err := env.admin.CreateToken(ctx, api.TokenInput{Name: "pipeline A", Role: "pipeline", PartnerId: &pid})
		if err != nil {
			t.Fatal(err)
		}
		status, list := erasures(t, tok.Token, a.id)
		if status != http.StatusOK {
			t.Fatalf("HTTP %d", status)
		}
		if diff := cmp.Diff(want(deliveredA), list.Erasures); diff != "" {
			t.Errorf("erasures mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("OtherPartnerSeesNotFound", func(t *testing.T) {
		if status, _ := erasures(t, env.researchers[partnerB].Token, a.id); status != http.StatusNotFound {
			t.Errorf("partner B's researcher: HTTP %d, want 404", status)
		}
	})

	t.Run("LaterBuildsExcludeThem", func(t *testing.T) {
		b := buildExport(t, env, partnerA, tables, false)
		for name, tbl := range b.tables {
			for _, p := range stringColumn(t, tbl, "learner_id") {
				for raw := range reasons {
					if deliveredA[raw] == p {
						t.Fatalf("%s: a learner erased after delivery is in a later export", name)
					}
				}
			}
		}
	})
}
