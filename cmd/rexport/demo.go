package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/api/client"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/fixtures"
)

func newDemoCmd(g *globalFlags) *cobra.Command {
	var dir, files string
	var learners int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole flow locally: fixtures, server, request, approval, build, download",
		Long: `Generate fixtures in a temporary directory, start the server on
127.0.0.1:0, and as a real HTTP client: create a partner, a researcher and
two reviewers; submit a request for every table; approve it twice (free
text needs two reviewers); wait for the build; download every file and verify its SHA-256 against the manifest;
print a summary and where the files are.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("log-level") && os.Getenv("REXPORT_LOG_LEVEL") == "" {
				g.logLevel = "warn" // keep the demo's own lines readable
			}
			_, err := runDemo(cmd.Context(), cmd.OutOrStdout(), g, demoOptions{dir: dir, files: files, learners: learners, seed: seed})
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "working directory (default: a new temporary directory, kept)")
	cmd.Flags().IntVar(&learners, "learners", 2000, "learners to generate")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "fixtures seed")
	cmd.Flags().StringVar(&files, "files", "", "files store of the built exports, as for serve (default <dir>/data/exports)")
	return cmd
}

// demoOptions are the demo's flags.
type demoOptions struct {
	dir, files string
	learners   int
	seed       uint64
}

// runDemo runs the demo and returns the directory of the downloaded files.
func runDemo(ctx context.Context, out io.Writer, g *globalFlags, o demoOptions) (string, error) {
	dir, learners, seed := o.dir, o.learners, o.seed
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "rexport-demo-"); err != nil {
			return "", err
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	dataDir := filepath.Join(dir, "data")
	sourcePath := filepath.Join(dir, "source.db")
	step := func(format string, args ...any) { fmt.Fprintf(out, "==> "+format+"\n", args...) }

	step("generating fixtures: %d learners (seed %d) into %s", learners, seed, sourcePath)
	if err := writeFixturesDB(ctx, fixtures.Config{Learners: learners, Seed: seed}, sourcePath, nil); err != nil {
		return "", err
	}
	a, err := openApp(ctx, appOptions{DataDir: dataDir, SourcePath: sourcePath, Files: o.files, Workers: 1, PollInterval: 100 * time.Millisecond, Log: g.logger()})
	if err != nil {
		return "", err
	}
	defer a.Close()
	adminToken, err := a.ensureAdmin(ctx)
	if err != nil {
		return "", err
	}
	srv, err := a.serve(ctx, "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer a.shutdown(srv)
	step("server listening on %s", srv.URL)

	courses, err := a.source.Courses(ctx, nil)
	if err != nil || len(courses) == 0 {
		return "", fmt.Errorf("fixtures have no courses: %v", err)
	}
	partnerID := courses[0].PartnerID

	admin := client.New(srv.URL, adminToken)
	allTables := make([]api.Table, 0, len(export.SourceTables))
	for _, name := range export.TableNames() {
		allTables = append(allTables, api.Table(name))
	}
	yes := true
	partner, err := admin.CreatePartner(ctx, api.PartnerInput{
		Id: partnerID, Name: "Demo partner " + partnerID,
		Dua: api.DUA{Reference: "DUA-DEMO-2026", AllowedTables: allTables, AllowFreeText: &yes, AllowSensitive: &yes},
	})
	if err != nil {
		return "", fmt.Errorf("create partner: %w", err)
	}
	step("partner %s registered with courses %v", partner.Id, partner.Courses)
	researcherPID := partnerID
	researcher, err := admin.CreateToken(ctx, api.TokenInput{Name: "Demo researcher", Role: "researcher", PartnerId: &researcherPID})
	if err != nil {
		return "", fmt.Errorf("create researcher: %w", err)
	}
	// Free text and sensitive columns need two different reviewers.
	var reviewers []*api.TokenCreated
	for _, name := range []string{"Demo reviewer 1", "Demo reviewer 2"} {
		r, err := admin.CreateToken(ctx, api.TokenInput{Name: name, Role: "reviewer"})
		if err != nil {
			return "", fmt.Errorf("create reviewer: %w", err)
		}
		reviewers = append(reviewers, r)
	}
	step("researcher %s and reviewers %s, %s created", researcher.PrincipalId, reviewers[0].PrincipalId, reviewers[1].PrincipalId)

	rc := client.New(srv.URL, researcher.Token)
	ethics := "IRB-2026-042"
	e, err := rc.CreateExport(ctx, api.ExportRequest{
		Title:            "Forum participation and course completion",
		Purpose:          "Study how forum participation relates to quiz performance and completion.",
		EthicsRef:        &ethics,
		Courses:          partner.Courses,
		Tables:           allTables,
		IncludeFreeText:  &yes,
		IncludeSensitive: &yes,
	})
	if err != nil {
		return "", fmt.Errorf("submit request: %w", err)
	}
	step("export %s submitted (%s)", e.Id, e.State)
	for i, r := range reviewers {
		a, err := client.New(srv.URL, r.Token).Approve(ctx, e.Id)
		if err != nil {
			return "", fmt.Errorf("approve: %w", err)
		}
		step("export %s approved by reviewer %d of %d (%s)", e.Id, i+1, a.ApprovalsRequired, a.State)
	}
	ready, err := rc.WaitReady(ctx, e.Id, 200*time.Millisecond, func(e *api.Export) {
		fmt.Fprintf(out, "\r    %-9s %d / %d rows", e.State, e.Progress.RowsWritten, e.Progress.RowsEstimated)
	})
	fmt.Fprintln(out)
	if err != nil {
		return "", err
	}

	raw, err := rc.Manifest(ctx, e.Id)
	if err != nil {
		return "", fmt.Errorf("manifest: %w", err)
	}
	var m export.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("manifest: %w", err)
	}
	outDir := filepath.Join(dir, "download", e.Id)
	if err := os.MkdirAll(outDir, 0o750); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(outDir, export.ManifestName), raw, 0o640); err != nil {
		return "", err
	}
	listed := map[string]bool{}
	for _, f := range ready.Files {
		listed[f.Name] = true
	}
	files := m.Files()
	for _, mf := range files {
		if !listed[mf.Name] {
			return "", fmt.Errorf("manifest file %s is not listed by the API", mf.Name)
		}
		f, err := os.Create(filepath.Join(outDir, mf.Name))
		if err != nil {
			return "", err
		}
		n, err := rc.Download(ctx, e.Id, mf.Name, mf.SHA256, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("download %s: %w", mf.Name, err)
		}
		if n != mf.Size {
			return "", fmt.Errorf("download %s: %d bytes, manifest says %d", mf.Name, n, mf.Size)
		}
	}
	step("downloaded %d files (tables, %s, %s), SHA-256 verified against the manifest", len(files), export.DictionaryName, export.ReadmeName)
	fmt.Fprintf(out, "\nexport %s (partner %s, key v%d, %s linkage, policy %s)\n%s",
		m.ExportID, m.Partner, m.Pseudonyms.KeyVersion, m.Pseudonyms.Scope, m.PolicyVersion, m.Summary())
	fmt.Fprintf(out, "\nfiles: %s\n", outDir)
	return outDir, nil
}
