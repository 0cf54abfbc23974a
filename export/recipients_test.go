package export_test

import (
	"testing"
	"time"

	"github.com/rexport/rexport/export"
)

// TestNamedRecipients: when a partner's agreement names its recipients,
// only researchers it names may request, download or sign links; a
// pipeline is a machine, not a recipient, and keeps downloading.
func TestNamedRecipients(t *testing.T) {
	g := setupGovernance(t)
	dua := export.DUA{Reference: "DUA-C", AllowedTables: []string{export.TableGrades}, Recipients: []string{"Dr Named"}}
	if err := g.db.CreatePartner(g.ctx, export.Partner{ID: "partner-c", Name: "C", Courses: []string{"c9"}, DUA: dua}, "local-admin"); err != nil {
		t.Fatal(err)
	}
	var named, unnamed, pipeline export.Principal
	for _, p := range []*export.Principal{
		{ID: "prn_named", Name: "dr named ", Role: export.RoleResearcher, PartnerID: "partner-c"},
		{ID: "prn_unnamed", Name: "Dr Unnamed", Role: export.RoleResearcher, PartnerID: "partner-c"},
		{ID: "prn_pipe_c", Name: "etl", Role: export.RolePipeline, PartnerID: "partner-c"},
	} {
		p.ExpiresAt = g.now.Add(time.Hour)
		if err := g.db.CreatePrincipal(g.ctx, *p, export.HashToken("token-"+p.ID), "local-admin"); err != nil {
			t.Fatal(err)
		}
		switch p.ID {
		case "prn_named":
			named = *p
		case "prn_unnamed":
			unnamed = *p
		default:
			pipeline = *p
		}
	}
	req := export.Request{Title: "Grades", Purpose: "p", Courses: []string{"c9"}, Tables: []string{export.TableGrades}}
	if _, err := g.svc.Submit(g.ctx, unnamed, "", req); export.ErrorCode(err) != export.EFORBIDDEN {
		t.Fatalf("submission by a researcher the agreement does not name: %v, want forbidden", err)
	}
	e, err := g.svc.Submit(g.ctx, named, "", req)
	if err != nil {
		t.Fatalf("submission by the named recipient: %v", err)
	}
	if _, err := g.svc.Approve(g.ctx, g.reviewer, e.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := g.db.StartBuild(g.ctx, e.ID, 1, 0, testLease, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := g.db.FinishBuild(g.ctx, e.ID, testLease, export.BuildResult{Files: builtFiles, ReadyAt: g.now, ExpiresAt: g.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  export.Principal
		want string
	}{{named, ""}, {pipeline, ""}, {unnamed, export.EFORBIDDEN}} {
		_, _, err := g.svc.Downloadable(g.ctx, c.who, e.ID, "grades.parquet")
		if export.ErrorCode(err) != c.want {
			t.Errorf("download by %s: %v, want %q", c.who.Name, err, c.want)
		}
		_, err = g.svc.CreateLinks(g.ctx, c.who, e.ID, nil, 0)
		if export.ErrorCode(err) != c.want {
			t.Errorf("links by %s: %v, want %q", c.who.Name, err, c.want)
		}
	}
}
