package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/export"
)

// TestIncrementalRunsExportEachRowOnce runs a recurring incremental
// request twice over a source that grows between the runs: the second run
// holds exactly the new rows, no row is in both runs, and the learners
// keep their pseudonyms across the runs.
func TestIncrementalRunsExportEachRowOnce(t *testing.T) {
	env := newInstance(t, appOptions{})
	ctx := context.Background()
	partner := env.partners[0]
	courses := partnerCourses(t, env, partner)
	daily, incremental := api.ExportRequestSchedule("daily"), api.ExportRequestMode("incremental")
	// Request linkage: the pseudonyms are keyed by the series, so every run
	// gives a learner the same one, and no other export does.
	linkage := api.ExportRequestLinkage("request")

	// An incremental request needs tables with an event time.
	if _, err := env.researchers[partner].CreateExport(ctx, api.ExportRequest{Title: "inc", Purpose: "p", Courses: courses,
		Tables: []api.Table{"learners"}, Schedule: &daily, Mode: &incremental}); err == nil {
		t.Error("an incremental request of the learners table was accepted")
	}

	run1 := buildRequest(t, env, partner, api.ExportRequest{Title: "weekly pipeline", Purpose: "dashboards", Courses: courses,
		Tables: []api.Table{"quiz_submissions", "enrollments"}, Schedule: &daily, Mode: &incremental, Linkage: &linkage})
	e1, err := env.admin.Export(ctx, run1.id)
	if err != nil {
		t.Fatal(err)
	}
	if e1.SeriesId == nil || *e1.SeriesId != run1.id || e1.Run == nil || *e1.Run != 1 || e1.WindowTo == nil {
		t.Fatalf("first run: series %v run %v watermark %v", e1.SeriesId, e1.Run, e1.WindowTo)
	}
	watermark := e1.WindowTo.UTC()

	// The source grows: copies of 25 delivered submissions, an hour past
	// the watermark, by learners who are not excluded.
	src, err := sql.Open("sqlite", "file:"+filepath.Join(env.dir, "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cols := []string{}
	qt, _ := export.SourceTable(export.TableQuizSubmissions)
	for _, c := range qt.Columns {
		cols = append(cols, c.Name)
	}
	in := "'" + strings.Join(courses, "','") + "'"
	rows, err := src.Query(`SELECT q.submission_id FROM quiz_submissions q JOIN learners l ON l.learner_id = q.learner_id
		WHERE q.course_id IN (` + in + `) AND NOT l.research_opt_out AND l.deleted_at IS NULL
		AND l.birth_date IS NOT NULL AND l.birth_date < '2000-01-01' ORDER BY q.submission_id LIMIT 25`)
	if err != nil {
		t.Fatal(err)
	}
	var originals []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		originals = append(originals, id)
	}
	rows.Close()
	if len(originals) != 25 {
		t.Fatalf("found %d submissions to copy", len(originals))
	}
	sel := strings.Join(cols, ", ")
	sel = strings.Replace(sel, "submission_id", "'new-' || submission_id", 1)
	sel = strings.Replace(sel, "submitted_at", "?", 1)
	for _, id := range originals {
		if _, err := src.Exec(`INSERT INTO quiz_submissions (`+strings.Join(cols, ", ")+`) SELECT `+sel+` FROM quiz_submissions WHERE submission_id = ?`,
			watermark.Add(time.Hour).Format("2006-01-02T15:04:05Z"), id); err != nil {
			t.Fatal(err)
		}
	}

	// Not due yet a minute later; due a day later.
	if runs, err := env.app.runner.Recur(ctx, watermark.Add(time.Minute), env.app.svc.NewID); err != nil || len(runs) != 0 {
		t.Fatalf("Recur before the period: %d runs, %v", len(runs), err)
	}
	runs, err := env.app.runner.Recur(ctx, watermark.Add(25*time.Hour), env.app.svc.NewID)
	if err != nil || len(runs) != 1 {
		t.Fatalf("Recur after a day: %d runs, %v", len(runs), err)
	}
	if again, err := env.app.runner.Recur(ctx, watermark.Add(25*time.Hour), env.app.svc.NewID); err != nil || len(again) != 0 {
		t.Fatalf("Recur while the second run builds: %d more runs, %v", len(again), err)
	}
	run2 := fetchExport(t, env, partner, runs[0].ID, courses)
	if s := run2.manifest.Series; s == nil || s.SeriesID != run1.id || s.Run != 2 || !s.Watermark.Equal(watermark.Add(25*time.Hour)) {
		t.Fatalf("second run's manifest series: %+v", s)
	}

	// Each row once across the runs; the second run holds the new rows.
	subs1 := stringColumn(t, run1.tables[export.TableQuizSubmissions], "submission_id")
	subs2 := stringColumn(t, run2.tables[export.TableQuizSubmissions], "submission_id")
	if len(subs2) != len(originals) {
		t.Errorf("second run has %d submissions, want the %d new ones", len(subs2), len(originals))
	}
	seen := map[string]bool{}
	for _, s := range append(slices.Clone(subs1), subs2...) {
		if seen[s] {
			t.Fatalf("submission %s exported twice", s)
		}
		seen[s] = true
	}
	if n := run2.tables[export.TableEnrollments].NumRows(); n != 0 {
		t.Errorf("second run has %d enrollments; none were added", n)
	}
	// Same learners, same pseudonyms.
	learners1 := map[string]bool{}
	for _, l := range stringColumn(t, run1.tables[export.TableQuizSubmissions], "learner_id") {
		learners1[l] = true
	}
	for _, l := range stringColumn(t, run2.tables[export.TableQuizSubmissions], "learner_id") {
		if !learners1[l] {
			t.Errorf("learner pseudonym %s of the second run is not in the first: pseudonyms changed between runs", l)
			break
		}
	}
	// Pipelines find the new run.
	since, err := env.researchers[partner].ExportsReadySince(ctx, *e1.ReadyAt, run1.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(since) != 1 || since[0].Id != run2.id {
		t.Errorf("exports ready since the first run: %v, want the second run only", ids(since))
	}

	// Revoking the first run revokes the recurring request: the later run
	// goes too, and no further run is filed.
	if _, err := env.admin.Revoke(ctx, run1.id, "the agreement's purpose changed"); err != nil {
		t.Fatal(err)
	}
	if e2, err := env.admin.Export(ctx, run2.id); err != nil || e2.State != api.StateRevoked {
		t.Errorf("second run after the series was revoked: %v %v", e2.State, err)
	}
	if runs, err := env.app.runner.Recur(ctx, watermark.Add(75*time.Hour), env.app.svc.NewID); err != nil || len(runs) != 0 {
		t.Errorf("Recur after the series was revoked: %d runs, %v", len(runs), err)
	}
}

// TestFullRecurringRunsCoverEverything: a recurring request in full mode
// exports, in each run, everything from the request's start to the run's
// watermark.
func TestFullRecurringRunsCoverEverything(t *testing.T) {
	env := newInstance(t, appOptions{})
	ctx := context.Background()
	partner := env.partners[0]
	courses := partnerCourses(t, env, partner)
	weekly := api.ExportRequestSchedule("weekly")
	run1 := buildRequest(t, env, partner, api.ExportRequest{Title: "weekly full", Purpose: "p", Courses: courses,
		Tables: []api.Table{"grades"}, Schedule: &weekly})
	e1, err := env.admin.Export(ctx, run1.id)
	if err != nil {
		t.Fatal(err)
	}
	if runs, err := env.app.runner.Recur(ctx, e1.WindowTo.Add(6*24*time.Hour), env.app.svc.NewID); err != nil || len(runs) != 0 {
		t.Fatalf("a weekly request recurred after 6 days: %d runs, %v", len(runs), err)
	}
	runs, err := env.app.runner.Recur(ctx, e1.WindowTo.Add(8*24*time.Hour), env.app.svc.NewID)
	if err != nil || len(runs) != 1 {
		t.Fatalf("Recur after 8 days: %d runs, %v", len(runs), err)
	}
	run2 := fetchExport(t, env, partner, runs[0].ID, courses)
	n1, n2 := run1.tables[export.TableGrades].NumRows(), run2.tables[export.TableGrades].NumRows()
	if n1 == 0 || n2 != n1 {
		t.Errorf("full runs: %d then %d grades, want the same non-zero count (the source did not change)", n1, n2)
	}
}

func ids(list []api.Export) []string {
	var out []string
	for _, e := range list {
		out = append(out, fmt.Sprintf("%s(run %v)", e.Id, e.Run))
	}
	return out
}
