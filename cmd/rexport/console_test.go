package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rexport/rexport/api"
)

// browser starts headless Chromium with a fresh profile. The test fails,
// not skips, when Chromium is missing: .ci/run installs it. Set
// REXPORT_SKIP_BROWSER=1 to skip on a machine without it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("REXPORT_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("REXPORT_SKIP_BROWSER") == "1" {
			t.Skip("no Chromium and REXPORT_SKIP_BROWSER=1")
		}
		t.Fatal("Chromium not found (apt-get install -y chromium; .ci/run does): set REXPORT_CHROMIUM or REXPORT_SKIP_BROWSER=1")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1600),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// artifactDir is where screenshots go: $REXPORT_ARTIFACTS, else
// artifacts/console at the repository root.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("REXPORT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "console")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, png, 0o640); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// signIn signs in to the console with a token through the sign-in form.
func signIn(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	run(t, ctx, "sign in",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("form.signout")),
	)
}

func signOut(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	run(t, ctx, "sign out",
		chromedp.Navigate(base+"/console/queue"),
		chromedp.Click(chromedp.CSS("form.signout button")),
		chromedp.WaitVisible(chromedp.ID("token")),
	)
}

// TestConsoleReviewInBrowser drives the review console in headless
// Chromium against the real server: sign in, open a pending free-text
// request, see its preview, approve; the request waits for a second
// reviewer, who approves too; the export reaches ready with the row counts
// the preview showed; a forged cross-site form is refused.
func TestConsoleReviewInBrowser(t *testing.T) {
	env := setupE2E(t)
	ctx := context.Background()
	var tokens []string
	for _, name := range []string{"console reviewer one", "console reviewer two"} {
		tok, err := env.admin.CreateToken(ctx, api.TokenInput{Name: name, Role: "reviewer"})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok.Token)
	}
	partner := env.partners[0]
	yes := true
	e, err := env.researchers[partner].CreateExport(ctx, api.ExportRequest{
		Title: "Console study of forum help-seeking", Purpose: "How learners ask for help in forums.",
		Courses: partnerCourses(t, env, partner), Tables: []api.Table{"learners", "forum_posts", "grades"},
		IncludeFreeText: &yes,
	})
	if err != nil {
		t.Fatal(err)
	}

	b := browser(t)
	signIn(t, b, env.url, tokens[0])
	run(t, b, "queue", chromedp.Navigate(env.url+"/console/queue"))
	queue := get(t, b, "queue text", chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(queue, e.Id) || !strings.Contains(queue, "0 of 2") {
		t.Fatalf("the queue does not list %s needing 2 approvals:\n%s", e.Id, queue)
	}
	screenshot(t, b, "queue.png")

	// The request page: the agreement check and the preview.
	run(t, b, "request page",
		chromedp.Click(chromedp.CSS(`a[href="/console/exports/`+e.Id+`"]`)),
		chromedp.WaitVisible(chromedp.ID("preview-rows")),
	)
	preview := get(t, b, "preview rows", chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('#preview-rows td[data-table]')].map(e => [e.dataset.table, e.textContent.trim()]))`))
	excluded := get(t, b, "preview exclusions", chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('#preview-excluded td[data-reason]')].map(e => [e.dataset.reason, e.textContent.trim()]))`))
	page := get(t, b, "request text", chromedp.Text(chromedp.CSS("main")))
	screenshot(t, b, "request.png")
	if len(preview) != 3 {
		t.Fatalf("preview lists %v, want 3 tables", preview)
	}
	for _, want := range []string{"The request against the data-use agreement", "Learners excluded, by reason", "Re-identification risk", "Scrubbed free text"} {
		if !strings.Contains(page, want) {
			t.Errorf("request page lacks %q", want)
		}
	}
	assertNoRawText(t, env, partner, page)

	run(t, b, "first approval",
		chromedp.SendKeys(chromedp.ID("note"), "purpose matches the agreement"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	state := get(t, b, "state", chromedp.Text(chromedp.ID("state")))
	approvals := get(t, b, "approvals", chromedp.Text(chromedp.ID("approvals")))
	if state != "submitted" || !strings.HasPrefix(approvals, "1 of 2") {
		t.Fatalf("after one approval: state %q, approvals %q; want submitted, 1 of 2", state, approvals)
	}
	// The same reviewer is not offered the decision again.
	forms := get(t, b, "decide forms", chromedp.Evaluate[int](`document.querySelectorAll('#approve-form').length`))
	if forms != 0 {
		t.Error("the reviewer who approved is offered the approve form again")
	}

	// A forged form from another origin, with the session cookie but no
	// CSRF token, is refused and changes nothing.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/console/exports/%s/reject"><input name="reason" value="forged"></form><script>document.getElementById('f').submit()</script>`, env.url, e.Id)
	}))
	defer evil.Close()
	run(t, b, "forged form",
		chromedp.Navigate(evil.URL),
		chromedp.WaitVisible(chromedp.CSS("p.error")),
	)
	refused := get(t, b, "forged form answer", chromedp.Text(chromedp.CSS("p.error")))
	if !strings.Contains(refused, "refused") {
		t.Errorf("forged form answer: %q", refused)
	}
	if got, err := env.admin.Export(ctx, e.Id); err != nil || got.State != api.StateSubmitted || len(got.Decisions) != 1 {
		t.Fatalf("after the forged form: %+v, %v; want submitted with one decision", got, err)
	}

	// The second reviewer approves; the export is built.
	signOut(t, b, env.url)
	signIn(t, b, env.url, tokens[1])
	run(t, b, "second approval",
		chromedp.Navigate(env.url+"/console/exports/"+e.Id),
		chromedp.WaitVisible(chromedp.ID("approve")),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		run(t, b, "export page", chromedp.Navigate(env.url+"/console/exports/"+e.Id))
		state = get(t, b, "export state", chromedp.Text(chromedp.ID("state")))
		if state == "ready" || state == "failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if state != "ready" {
		t.Fatalf("export state %q, want ready", state)
	}
	files := get(t, b, "files", chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('#files td[data-file]')].map(e => [e.dataset.file, e.textContent.trim()]))`))
	screenshot(t, b, "ready.png")

	// The preview's counts are the built export's.
	got, err := env.admin.Export(ctx, e.Id)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got.Files {
		if f.Table == nil {
			continue
		}
		if preview[*f.Table] != strconv.FormatInt(*f.Rows, 10) {
			t.Errorf("%s: preview showed %s rows, the export has %d", *f.Table, preview[*f.Table], *f.Rows)
		}
		if files[f.Name] != strconv.FormatInt(*f.Rows, 10) {
			t.Errorf("%s: the page lists %s rows, the export %d", f.Name, files[f.Name], *f.Rows)
		}
	}
	raw, err := env.researchers[partner].Manifest(ctx, e.Id)
	if err != nil {
		t.Fatal(err)
	}
	for reason, n := range excluded {
		if !strings.Contains(string(raw), fmt.Sprintf("%q: %s", reason, n)) {
			t.Errorf("preview excluded %s learners for %s; the manifest says otherwise", n, reason)
		}
	}
}

// assertNoRawText checks that no raw forum text of the partner's courses
// with personal data appears on a console page: the preview shows scrubbed
// text only.
func assertNoRawText(t *testing.T, env *e2e, partner, page string) {
	t.Helper()
	rows, err := env.source.Query(`SELECT l.email FROM learners l JOIN enrollments en ON en.learner_id = l.learner_id
		JOIN courses c ON c.course_id = en.course_id WHERE c.partner_id = ?`, partner)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var email string
		if err := rows.Scan(&email); err != nil {
			t.Fatal(err)
		}
		n++
		if email != "" && strings.Contains(page, email) {
			t.Errorf("the console page shows a learner's email")
		}
	}
	if n == 0 {
		t.Fatal("no learner emails to check against")
	}
}
