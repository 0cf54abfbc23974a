package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/postgres"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/internal/pgtest"
)

// killPoints is how many builds TestWorkersSurviveSIGKILL kills.
const killPoints = 20

// workerProc is a `rexport serve --worker` process of the test binary.
type workerProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// startWorker starts a worker process on the test's PostgreSQL metadata
// database, SQLite source and shared files directory, with short leases
// so a killed build is requeued within seconds.
func startWorker(t *testing.T, data, dsn, src, files, logPath string) *workerProc {
	t.Helper()
	args := []string{"serve", "--worker", "--workers", "1", "--data", data, "--db", dsn, "--source", src, "--files", files,
		"--addr", "127.0.0.1:0", "--build-lease", "1s", "--log-level", "info", "--log-format", "text"}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunMain$", "-test.count=1")
	cmd.Env = append(os.Environ(), "REXPORT_TEST_MAIN="+strings.Join(args, "\n"))
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProc{cmd: cmd, done: make(chan struct{}), log: logf}
	go func() { cmd.Wait(); logf.Close(); close(w.done) }()
	return w
}

func (w *workerProc) kill(sig syscall.Signal) {
	w.cmd.Process.Signal(sig)
	<-w.done
}

// leasePID is the process id in a build lease ("<host>-<pid>.<random>").
func leasePID(lease string) int {
	worker, _, _ := strings.Cut(lease, ".")
	pid, _ := strconv.Atoi(worker[strings.LastIndexByte(worker, '-')+1:])
	return pid
}

// TestWorkersSurviveSIGKILL runs two worker processes on one PostgreSQL
// and kills one with SIGKILL at a random point of a build, killPoints
// times, restarting it each time as a supervisor would. Every export must
// end ready, with every file's SHA-256 matching the manifest, or failed
// with a reason; no download is ever of a partial or foreign file; no
// export is marked ready twice; each killed build's export is taken over
// under a new lease; and the audit chain has no gap.
func TestWorkersSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills worker processes for a few minutes")
	}
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source.db")
	if err := writeFixturesDB(ctx, fixtures.Config{Learners: 600, Seed: 21}, src, nil); err != nil {
		t.Fatal(err)
	}
	files := filepath.Join(dir, "files")
	// The API runs in this process and builds nothing.
	env, err := startService(ctx, dir, src, appOptions{DB: dsn, Workers: -1, Files: files})
	t.Cleanup(env.stop)
	if err != nil {
		t.Fatal(err)
	}
	// Workers share the API's master key, as every process of a
	// deployment must.
	key, err := os.ReadFile(filepath.Join(dir, "data", "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "workers.log")
	workers := make([]*workerProc, 2)
	start := func(i int) {
		data := filepath.Join(dir, fmt.Sprintf("worker%d", i))
		if err := os.MkdirAll(data, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "master.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		workers[i] = startWorker(t, data, dsn, src, files, logPath)
	}
	for i := range workers {
		start(i)
	}
	t.Cleanup(func() {
		for _, w := range workers {
			w.kill(syscall.SIGKILL)
		}
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("worker logs (last 8 KiB):\n%s", b[max(0, len(b)-8192):])
			}
		}
	})

	// Requests alternate between the two partners: the first's with free
	// text (two approvals, more work per build), the second's without.
	var ids []string
	file := func() {
		i := len(ids) % 2
		partner := env.partners[i]
		freeText := i == 0
		tables := allAPITables()
		if !freeText { // the second partner's agreement leaves out forum posts
			tables = slices.DeleteFunc(tables, func(t api.Table) bool { return t == api.Table(export.TableForumPosts) })
		}
		e, err := env.researchers[partner].CreateExport(ctx, api.ExportRequest{
			Title: fmt.Sprintf("crash %d", len(ids)), Purpose: "crash safety test", Courses: partnerCourses(t, env, partner),
			Tables: tables, IncludeFreeText: &freeText,
		})
		if err != nil {
			t.Fatalf("CreateExport: %v", err)
		}
		approve(t, env, e.Id, freeText)
		ids = append(ids, e.Id)
	}

	// A pipeline downloads every ready export over and over meanwhile:
	// each download is checked against the SHA-256 the API lists.
	stopDownloads := make(chan struct{})
	var dl struct {
		sync.Mutex
		files int
		errs  []string
	}
	var dlDone sync.WaitGroup
	dlDone.Add(1)
	go func() {
		defer dlDone.Done()
		for {
			select {
			case <-stopDownloads:
				return
			default:
			}
			for _, partner := range env.partners[:2] {
				rc := env.researchers[partner]
				ready, err := rc.ExportsIn(ctx, api.StateReady)
				if err != nil {
					dl.Lock()
					dl.errs = append(dl.errs, "listing ready exports: "+err.Error())
					dl.Unlock()
					continue
				}
				// The newest few (the list is newest first).
				for _, e := range ready[:min(len(ready), 3)] {
					for _, f := range e.Files {
						_, err := rc.Download(ctx, e.Id, f.Name, f.Sha256, io.Discard)
						dl.Lock()
						if err != nil {
							dl.errs = append(dl.errs, fmt.Sprintf("%s/%s: %v", e.Id, f.Name, err))
						}
						dl.files++
						dl.Unlock()
					}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	type kill struct {
		export, lease string
		rows          int64
		at            time.Time
	}
	var kills []kill
	rng := rand.New(rand.NewPCG(21, uint64(time.Now().UnixNano())))
	deadline := time.Now().Add(6 * time.Minute)
	for len(kills) < killPoints {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d kill points within the time limit", len(kills), killPoints)
		}
		for _, w := range workers {
			select {
			case <-w.done:
				t.Fatalf("a worker exited on its own: %v", w.cmd.ProcessState)
			default:
			}
		}
		active, err := env.app.meta.Exports(ctx, export.ExportFilter{AllPartners: true, State: export.StateQueued, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(active) < 2 {
			file()
		}
		building, err := env.app.meta.Exports(ctx, export.ExportFilter{AllPartners: true, State: export.StateBuilding, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var victim *export.Export
		var proc int
		for _, e := range building {
			pid := leasePID(e.BuildLease)
			for i, w := range workers {
				if w.cmd.Process.Pid == pid {
					victim, proc = e, i
				}
			}
		}
		if victim == nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		// A random point of the build: its lease was taken just now, or
		// it has written rows for a while, or it is uploading.
		time.Sleep(time.Duration(rng.Int64N(int64(typicalBuild(t, env, ids)))))
		now, err := env.app.meta.Export(ctx, victim.ID, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if now.State != export.StateBuilding || now.BuildLease != victim.BuildLease {
			continue // it finished, or moved on, before the kill
		}
		workers[proc].kill(syscall.SIGKILL)
		start(proc)
		after, err := env.app.meta.Export(ctx, victim.ID, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if after.State == export.StateReady && after.BuildLease == victim.BuildLease {
			continue // it finished between the check and the kill
		}
		kills = append(kills, kill{export: victim.ID, lease: victim.BuildLease, rows: now.Progress.RowsWritten, at: time.Now()})
	}

	// Every export ends ready or failed.
	wait := time.Now().Add(2 * time.Minute)
	for {
		pending := 0
		for _, id := range ids {
			e, err := env.app.meta.Export(ctx, id, "", true)
			if err != nil {
				t.Fatal(err)
			}
			if e.State != export.StateReady && e.State != export.StateFailed {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(wait) {
			t.Fatalf("%d of %d exports neither ready nor failed; jobs:\n%s", pending, len(ids), riverJobs(t, env))
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stopDownloads)
	dlDone.Wait()

	killed := map[string][]string{} // export -> leases killed
	var points []string             // how far into its build each kill came
	for _, k := range kills {
		killed[k.export] = append(killed[k.export], k.lease)
		log, err := env.app.meta.AuditLog(ctx, k.export)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range log {
			if a.Action == "export.build.start" && strings.Contains(a.Detail, "lease="+k.lease) {
				points = append(points, fmt.Sprintf("%dms/%d rows", k.at.Sub(a.At).Milliseconds(), k.rows))
			}
		}
	}
	var reasons []string
	ready, failed := 0, 0
	for _, id := range ids {
		e, err := env.app.meta.Export(ctx, id, "", true)
		if err != nil {
			t.Fatal(err)
		}
		log, err := env.app.meta.AuditLog(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		readies := 0
		var recoveries []string // the requeues, take-overs and give-ups
		for _, a := range log {
			switch a.Action {
			case "export.build.ready":
				readies++
			case "export.build.start", "export.queue", "export.build.fail":
				recoveries = append(recoveries, a.Detail)
			}
		}
		switch e.State {
		case export.StateReady:
			ready++
			if readies != 1 {
				t.Errorf("%s: marked ready %d times", id, readies)
			}
			rc := env.researchers[e.PartnerID]
			for _, f := range e.Files {
				if _, err := rc.Download(ctx, id, f.Name, f.SHA256, io.Discard); err != nil {
					t.Errorf("%s/%s: %v", id, f.Name, err)
				}
			}
			checkManifestFiles(t, env, e)
		case export.StateFailed:
			failed++
			if e.Error == "" || readies != 0 {
				t.Errorf("%s: failed with reason %q after %d ready entries", id, e.Error, readies)
			}
			reasons = append(reasons, e.Error)
		}
		// Each killed build's export was requeued from its stale lease
		// (or failed for being interrupted too often).
		for _, lease := range killed[id] {
			found := false
			for _, d := range recoveries {
				found = found || strings.Contains(d, "stale_lease="+lease) || strings.Contains(d, "took_over="+lease) ||
					strings.HasPrefix(d, "the build was interrupted") && strings.HasSuffix(d, "lease="+lease)
			}
			if !found {
				t.Errorf("%s: the build killed under lease %s was never recovered; audit: %q", id, lease, recoveries)
			}
		}
	}

	// The audit chain is whole and its ids have no gap.
	bad, n, _, err := env.app.meta.VerifyAudit(ctx)
	if err != nil || bad != nil {
		t.Fatalf("VerifyAudit: %v %+v", err, bad)
	}
	all, err := env.app.meta.AuditLog(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range all {
		if a.ID != all[0].ID+int64(i) {
			t.Fatalf("audit ids jump from %d to %d", all[i-1].ID, a.ID)
		}
	}
	dl.Lock()
	defer dl.Unlock()
	for _, e := range dl.errs {
		t.Errorf("download during the kills: %s", e)
	}
	if dl.files == 0 {
		t.Error("no download happened during the kills")
	}
	t.Logf("%d kill points (time into the build / rows recorded: %s); %d exports: %d ready, %d failed %q; %d audit entries; %d files downloaded and verified during the kills",
		len(kills), strings.Join(points, ", "), len(ids), ready, failed, reasons, n, dl.files)
}

// riverJobs lists River's build jobs, for a failure message.
func riverJobs(t *testing.T, env *e2e) string {
	pg, ok := env.app.meta.(*postgres.DB)
	if !ok {
		return ""
	}
	rows, err := pg.Pool().Query(context.Background(), `SELECT id, state, attempt, max_attempts, coalesce(attempted_at::text, ''), scheduled_at::text, args::text FROM river_job ORDER BY id`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id int64
		var state, attempted, scheduled, args string
		var attempt, maxAttempts int
		if err := rows.Scan(&id, &state, &attempt, &maxAttempts, &attempted, &scheduled, &args); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "  %d %s attempt %d/%d attempted %s scheduled %s %s\n", id, state, attempt, maxAttempts, attempted, scheduled, args)
	}
	return b.String()
}

// typicalBuild is the median time from build start to ready of the
// exports built so far (100ms before any is ready).
func typicalBuild(t *testing.T, env *e2e, ids []string) time.Duration {
	t.Helper()
	var ds []time.Duration
	for _, id := range ids[max(0, len(ids)-8):] {
		log, err := env.app.meta.AuditLog(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var started time.Time
		for _, a := range log {
			switch a.Action {
			case "export.build.start":
				started = a.At
			case "export.build.ready":
				ds = append(ds, a.At.Sub(started))
			}
		}
	}
	if len(ds) == 0 {
		return 100 * time.Millisecond
	}
	slices.Sort(ds)
	return max(ds[len(ds)/2], time.Millisecond)
}

// checkManifestFiles reads a ready export's manifest.json and checks each
// file it lists against the files the API serves.
func checkManifestFiles(t *testing.T, env *e2e, e *export.Export) {
	t.Helper()
	raw, err := env.researchers[e.PartnerID].Manifest(context.Background(), e.ID)
	if err != nil {
		t.Errorf("%s: manifest: %v", e.ID, err)
		return
	}
	listed := map[string]string{}
	for _, f := range e.Files {
		listed[f.Name] = f.SHA256
	}
	var m export.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Errorf("%s: manifest: %v", e.ID, err)
		return
	}
	for _, mt := range m.Tables {
		if listed[mt.File] != mt.SHA256 {
			t.Errorf("%s: manifest lists %s with SHA-256 %s, the API %s", e.ID, mt.File, mt.SHA256, listed[mt.File])
		}
	}
}
