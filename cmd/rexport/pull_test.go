package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rexport/rexport/api"
)

// cutProxy forwards to the service and, while cut is above 0, breaks every
// file download after that many bytes, as a dropped connection would.
type cutProxy struct {
	*httptest.Server
	cut atomic.Int64
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ModifyResponse = func(resp *http.Response) error {
		if n := p.cut.Load(); n > 0 && strings.Contains(resp.Request.URL.Path, "/files/") {
			resp.Body = &breakingBody{r: resp.Body, left: n}
		}
		return nil
	}
	p.Server = httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p
}

type breakingBody struct {
	r    io.ReadCloser
	left int64
}

func (b *breakingBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errors.New("connection dropped")
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *breakingBody) Close() error { return b.r.Close() }

// pullCLI runs `rexport pull` with the token in the environment and
// returns its standard output.
func pullCLI(t *testing.T, base, token string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("REXPORT_URL", base)
	t.Setenv("REXPORT_TOKEN", token)
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"pull"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestPullResumesAndVerifies interrupts `rexport pull` in the middle of
// every file, runs it again, and checks that it resumed (fewer bytes the
// second time) and that every file verifies; then that a corrupted partial
// file makes pull fail naming the file, keeping nothing of it.
func TestPullResumesAndVerifies(t *testing.T) {
	env := setupE2E(t)
	partner := env.partners[0]
	b := buildExport(t, env, partner, []api.Table{"learners", "quiz_submissions", "grades"}, false)
	token := env.researchers[partner].Token
	e, err := env.researchers[partner].Export(context.Background(), b.id)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	var biggest api.File
	for _, f := range e.Files {
		total += f.Size
		if f.Size > biggest.Size {
			biggest = f
		}
	}
	proxy := newCutProxy(t, env.url)
	dir := filepath.Join(t.TempDir(), "pulled")

	// First run: the connection drops after half of the biggest file.
	proxy.cut.Store(biggest.Size / 2)
	if _, err := pullCLI(t, proxy.URL, token, b.id, "--dir", dir); err == nil {
		t.Fatal("pull over a dropping connection succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, biggest.Name)); !os.IsNotExist(err) {
		t.Fatalf("a partly downloaded file is in place under its name: %v", err)
	}

	// Second run: it resumes and finishes.
	proxy.cut.Store(0)
	out, err := pullCLI(t, proxy.URL, token, b.id, "--dir", dir, "--json")
	if err != nil {
		t.Fatalf("second pull: %v\n%s", err, out)
	}
	var res pullResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("pull --json: %v\n%s", err, out)
	}
	if res.Transferred >= total {
		t.Errorf("second pull transferred %d bytes of %d: it did not resume", res.Transferred, total)
	}
	resumed := false
	for _, f := range res.Files {
		resumed = resumed || f.ResumedFrom > 0
	}
	if !resumed {
		t.Errorf("no file was resumed: %+v", res.Files)
	}
	for _, f := range e.Files {
		if sum, err := fileSHA256(filepath.Join(dir, f.Name)); err != nil || sum != f.Sha256 {
			t.Errorf("%s: SHA-256 %s (%v), want %s", f.Name, sum, err, f.Sha256)
		}
		if _, err := os.Stat(filepath.Join(dir, "."+f.Name+".part")); !os.IsNotExist(err) {
			t.Errorf("%s: partial file left behind", f.Name)
		}
	}
	// A third run finds everything in place and transfers nothing.
	out, err = pullCLI(t, env.url, token, b.id, "--dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Transferred != 0 {
		t.Errorf("pull of a complete directory transferred %d bytes (%v)", res.Transferred, err)
	}

	// A corrupted partial file: the resumed file does not verify, pull
	// exits non-zero naming it, and neither the file nor its part stays.
	dir2 := filepath.Join(t.TempDir(), "corrupt")
	proxy.cut.Store(biggest.Size / 2)
	if _, err := pullCLI(t, proxy.URL, token, b.id, "--dir", dir2); err == nil {
		t.Fatal("interrupted pull succeeded")
	}
	part := filepath.Join(dir2, "."+biggest.Name+".part")
	data, err := os.ReadFile(part)
	if err != nil || len(data) == 0 {
		t.Fatalf("no partial file to corrupt: %v", err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(part, data, 0o640); err != nil {
		t.Fatal(err)
	}
	proxy.cut.Store(0)
	_, err = pullCLI(t, proxy.URL, token, b.id, "--dir", dir2)
	if err == nil || !strings.Contains(err.Error(), biggest.Name) {
		t.Fatalf("pull with a corrupted partial file: err = %v, want one naming %s", err, biggest.Name)
	}
	for _, p := range []string{filepath.Join(dir2, biggest.Name), part} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s kept after a failed verification", filepath.Base(p))
		}
	}
	// Run again: it starts that file over and succeeds.
	if _, err := pullCLI(t, env.url, token, b.id, "--dir", dir2); err != nil {
		t.Errorf("pull after a failed verification: %v", err)
	}
	// --latest picks the newest ready export.
	dir3 := filepath.Join(t.TempDir(), "latest")
	if _, err := pullCLI(t, env.url, token, "--latest", "--dir", dir3); err != nil {
		t.Fatalf("pull --latest: %v", err)
	}
}
