package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/export"
)

// rawPost sends a body as is and returns the status and decoded error.
func rawPost(t *testing.T, env *e2e, token, path string, body []byte) (int, api.Error) {
	t.Helper()
	status, b := httpDo(t, env.url, http.MethodPost, path, token, body)
	var e api.Error
	if status >= 300 {
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("error body is not JSON {code, message}: %q", b)
		}
	}
	return status, e
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stateCounts snapshots what a refused request must not change: every
// export and the audit log.
func stateCounts(t *testing.T, env *e2e) (int, int) {
	t.Helper()
	ctx := context.Background()
	list, err := env.app.meta.Exports(ctx, export.ExportFilter{AllPartners: true, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := env.app.meta.AuditLog(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(list), len(audit)
}

func TestRequestsThatBreakRules(t *testing.T) {
	env := setupE2E(t)
	partnerA, partnerB := env.partners[0], env.partners[1]
	tokA, tokB := env.researchers[partnerA].Token, env.researchers[partnerB].Token
	coursesA, coursesB := partnerCourses(t, env, partnerA), partnerCourses(t, env, partnerB)
	valid := func() map[string]any {
		return map[string]any{"title": "t", "purpose": "p", "courses": coursesA, "tables": []string{"grades"}}
	}
	with := func(k string, v any) []byte {
		m := valid()
		m[k] = v
		return mustJSON(t, m)
	}
	big := valid()
	big["purpose"] = strings.Repeat("x", 2<<20)

	tests := []struct {
		name       string
		token      string
		body       []byte
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{"AnotherPartnersCourse", tokA, with("courses", []string{coursesA[0], coursesB[0]}), 400, "invalid", "courses[1]"},
		{"UnknownCourse", tokA, with("courses", []string{"course-v1:Nope+X+2025"}), 400, "invalid", "courses[0]"},
		{"TableNotInDUA", tokB, mustJSON(t, map[string]any{"title": "t", "purpose": "p", "courses": coursesB, "tables": []string{"grades", "forum_posts"}}), 400, "invalid", "tables[1]"},
		{"FreeTextNotInDUA", tokB, mustJSON(t, map[string]any{"title": "t", "purpose": "p", "courses": coursesB, "tables": []string{"grades"}, "include_free_text": true}), 400, "invalid", "include_free_text"},
		{"UnknownTable", tokA, with("tables", []string{"passwords"}), 400, "invalid", "tables"},
		{"ToBeforeFrom", tokA, func() []byte {
			m := valid()
			m["from"], m["to"] = "2025-06-01T00:00:00Z", "2025-01-01T00:00:00Z"
			return mustJSON(t, m)
		}(), 400, "invalid", "to"},
		{"UnknownField", tokA, with("shoe_size", 42), 400, "invalid", "shoe_size"},
		{"TimePrecisionFinerThanDUA", tokA, with("time_precision", "second"), 400, "invalid", "time_precision"},
		{"UnknownTimePrecision", tokA, with("time_precision", "minute"), 400, "invalid", "time_precision"},
		{"DateShiftTooLarge", tokA, with("date_shift_days", 400), 400, "invalid", "date_shift_days"},
		{"MissingField", tokA, mustJSON(t, map[string]any{"title": "t", "courses": coursesA, "tables": []string{"grades"}}), 400, "invalid", "purpose"},
		{"WrongType", tokA, with("courses", "not-a-list"), 400, "invalid", "courses"},
		{"MalformedJSON", tokA, []byte(`{"title": "t", "purpose": `), 400, "invalid", "body"},
		{"BodyOver1MiB", tokA, mustJSON(t, big), 413, "too_large", "larger than"},
		{"NoToken", "", with("title", "x"), 401, "unauthenticated", "bearer"},
		{"BadToken", "rx_not-a-real-token", with("title", "x"), 401, "unauthenticated", "token"},
	}
	exportsBefore, auditBefore := stateCounts(t, env)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e := rawPost(t, env, tt.token, "/v1/exports", tt.body)
			if status != tt.wantStatus || string(e.Code) != tt.wantCode {
				t.Fatalf("status %d code %q (%s), want %d %q", status, e.Code, e.Message, tt.wantStatus, tt.wantCode)
			}
			if !strings.Contains(e.Message, tt.wantInMsg) {
				t.Errorf("message %q does not name %q", e.Message, tt.wantInMsg)
			}
		})
	}
	if exportsAfter, auditAfter := stateCounts(t, env); exportsAfter != exportsBefore || auditAfter != auditBefore {
		t.Errorf("refused requests changed state: exports %d -> %d, audit entries %d -> %d", exportsBefore, exportsAfter, auditBefore, auditAfter)
	}

	t.Run("SelfApproval", func(t *testing.T) {
		// Staff may submit for a partner; they may never approve it themselves.
		ctx := context.Background()
		pid := partnerA
		e, err := env.admin.CreateExport(ctx, api.ExportRequest{Title: "staff one-off", Purpose: "p", Courses: coursesA,
			Tables: []api.Table{"grades"}, PartnerId: &pid})
		if err != nil {
			t.Fatal(err)
		}
		_, auditBefore := stateCounts(t, env)
		_, err = env.admin.Approve(ctx, e.Id)
		assertStatus(t, err, http.StatusForbidden)
		got, err := env.admin.Export(ctx, e.Id)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != api.StateSubmitted || len(got.Decisions) != 0 {
			t.Errorf("after refused self-approval: state %s with %d decisions, want submitted with none", got.State, len(got.Decisions))
		}
		if _, auditAfter := stateCounts(t, env); auditAfter != auditBefore {
			t.Errorf("refused self-approval wrote %d audit entries", auditAfter-auditBefore)
		}
		// A researcher may not approve either, and a reviewer must give a
		// reason to reject.
		_, err = env.researchers[partnerA].Approve(ctx, e.Id)
		assertStatus(t, err, http.StatusForbidden)
		status, body := rawPost(t, env, "", "/v1/exports/"+e.Id+"/reject", []byte(`{}`))
		if status != http.StatusUnauthorized {
			t.Errorf("reject without token: %d %v", status, body)
		}
		_, err = env.reviewer.Reject(ctx, e.Id, "")
		assertStatus(t, err, http.StatusBadRequest)
		if _, err := env.reviewer.Reject(ctx, e.Id, "not covered by the DUA's purpose"); err != nil {
			t.Fatalf("reject with reason: %v", err)
		}
		_, err = env.reviewer.Approve(ctx, e.Id)
		assertStatus(t, err, http.StatusConflict)
	})
}
