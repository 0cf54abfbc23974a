package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rexport runs the root command with args, as the binary would.
func rexport(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	var out syncBuffer
	cmd := newRootCmd()
	cmd.SetArgs(append(args, "--log-level", "error"))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestCommandLine(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	src := filepath.Join(data, "source.db")
	if err := os.MkdirAll(data, 0o750); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := rexport(t, ctx, append(args, "--data", data)...)
		if err != nil {
			t.Fatalf("rexport %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	run("fixtures", "--learners", "150", "--seed", "4", "--out", src)
	if _, err := rexport(t, ctx, "fixtures", "--learners", "10", "--out", src); err == nil {
		t.Error("fixtures overwrote an existing source database")
	}

	out := run("partner", "add", "--id", "partner-uni-b", "--name", "Bellmoor", "--free-text", "--dua-ref", "DUA-7")
	if !strings.Contains(out, "partner partner-uni-b registered") {
		t.Errorf("partner add said %q", out)
	}
	if out, err := rexport(t, ctx, "partner", "add", "--id", "partner-uni-b", "--name", "again", "--data", data); err == nil {
		t.Errorf("second partner add succeeded: %s", out)
	}
	out = run("token", "create", "--role", "researcher", "--partner", "partner-uni-b", "--name", "Dr B")
	token := regexp.MustCompile(`rx_[A-Za-z0-9_-]{43}`).FindString(out)
	if token == "" {
		t.Fatalf("token create printed no token: %q", out)
	}
	if _, err := rexport(t, ctx, "token", "create", "--role", "researcher", "--data", data); err == nil {
		t.Error("researcher token without a partner was created")
	}

	t.Run("OfflineBuild", func(t *testing.T) {
		outDir := filepath.Join(dir, "offline")
		out := run("build", "--source", src, "--partner", "partner-uni-b", "--free-text", "--out", outDir)
		raw, err := os.ReadFile(filepath.Join(outDir, export.ManifestName))
		if err != nil {
			t.Fatalf("no manifest: %v\n%s", err, out)
		}
		var m export.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Tables) != len(export.SourceTables) || m.Partner != "partner-uni-b" {
			t.Fatalf("manifest: %d tables for %s", len(m.Tables), m.Partner)
		}
		for _, mt := range m.Tables {
			data, err := os.ReadFile(filepath.Join(outDir, mt.File))
			if err != nil {
				t.Fatal(err)
			}
			if got := readParquet(t, data).NumRows(); got != mt.Rows {
				t.Errorf("%s: %d rows, manifest says %d", mt.File, got, mt.Rows)
			}
		}
	})

	if out := run("keys", "rotate"); !strings.Contains(out, "version 2") {
		t.Errorf("keys rotate said %q", out)
	}
	if out := run("audit", "verify"); !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify said %q", out)
	}

	t.Run("ServePrintsAdminTokenOnce", func(t *testing.T) {
		serve := func() (string, string) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var out syncBuffer
			cmd := newRootCmd()
			cmd.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "error"})
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			done := make(chan error, 1)
			go func() { done <- cmd.ExecuteContext(ctx) }()
			listening := regexp.MustCompile(`listening on (http://\S+)`)
			url := ""
			for deadline := time.Now().Add(30 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if m := listening.FindStringSubmatch(out.String()); m != nil {
					url = m[1]
				}
			}
			if url == "" {
				t.Fatalf("serve did not start: %s", out.String())
			}
			// The researcher token made on the command line works here.
			req, _ := http.NewRequest(http.MethodGet, url+"/v1/exports", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET /v1/exports with the CLI token: %d", resp.StatusCode)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve exited with %v", err)
			}
			return out.String(), url
		}
		first, _ := serve()
		if !strings.Contains(first, "admin token (shown once") || !regexp.MustCompile(`rx_[A-Za-z0-9_-]{43}`).MatchString(first) {
			t.Errorf("first start printed no admin token:\n%s", first)
		}
		if second, _ := serve(); strings.Contains(second, "admin token") {
			t.Errorf("second start printed an admin token again:\n%s", second)
		}
		st, err := os.Stat(filepath.Join(data, "master.key"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("master key file: %v, mode %v; want 0600", err, st.Mode().Perm())
		}
	})

	t.Run("RefusesWorldReadableMasterKey", func(t *testing.T) {
		if err := os.Chmod(filepath.Join(data, "master.key"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(filepath.Join(data, "master.key"), 0o600)
		out, err := rexport(t, ctx, "build", "--source", src, "--partner", "partner-uni-b", "--out", filepath.Join(dir, "x"), "--data", data)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("build with a 0644 key: err = %v\n%s", err, out)
		}
	})
}
