package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/internal/s3test"
)

// TestFilesInObjectStorage runs the service with its files store on an S3
// fake (gofakes3, in memory, on 127.0.0.1): the build uploads every file
// before the export is ready and keeps nothing local; downloads, Range
// requests, the Arrow stream and erasures read the bucket; the sweep of an
// expired export deletes its objects and records when.
func TestFilesInObjectStorage(t *testing.T) {
	s3 := s3test.Start(t, "rexport")
	env := newInstance(t, appOptions{Files: s3.URL("tenant-a/exports")})
	ctx := context.Background()
	partner := env.partners[0]
	rc := env.researchers[partner]
	b := buildExport(t, env, partner, []api.Table{"learners", "grades"}, false)
	e, err := rc.Export(ctx, b.id)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := env.app.meta.Export(ctx, b.id, "", true)
	if err != nil {
		t.Fatal(err)
	}
	// Each build uploads under its own lease.
	prefix := "tenant-a/exports/" + b.id + "/" + stored.BuildLease + "/"
	if stored.BuildLease == "" {
		t.Fatal("a ready export without its build's lease")
	}

	t.Run("UploadsEveryFileAndKeepsNoneLocal", func(t *testing.T) {
		want := []string{prefix + export.DeliveredName}
		for _, f := range e.Files {
			want = append(want, prefix+f.Name)
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, s3.Keys(t, "")); diff != "" {
			t.Errorf("objects in the bucket mismatch (-want +got):\n%s", diff)
		}
		if _, err := os.Stat(filepath.Join(env.app.dataDir, "exports")); !os.IsNotExist(err) {
			t.Errorf("<data>/exports exists (%v): the files belong in the bucket", err)
		}
		if work, _ := filepath.Glob(filepath.Join(env.app.dataDir, "work", "build-"+b.id+"*")); len(work) > 0 {
			t.Errorf("the build's working directory is still there: %v", work)
		}
	})

	var grades export.ManifestTable
	for _, mt := range b.manifest.Tables {
		if mt.Name == export.TableGrades {
			grades = mt
		}
	}
	var buf bytes.Buffer
	if _, err := rc.Download(ctx, b.id, grades.File, grades.SHA256, &buf); err != nil {
		t.Fatalf("download %s: %v", grades.File, err) // checks the SHA-256
	}
	full := buf.Bytes()
	t.Run("DownloadsWhole", func(t *testing.T) {
		if got := sha256Hex(full); got != grades.SHA256 || int64(len(full)) != grades.Size {
			t.Errorf("%s: %d bytes, SHA-256 %s; manifest says %d, %s", grades.File, len(full), got, grades.Size, grades.SHA256)
		}
	})

	t.Run("ServesRangesWithRangeReads", func(t *testing.T) {
		if len(full) < 2000 {
			t.Fatalf("%s has %d bytes: too small to test ranges", grades.File, len(full))
		}
		s3.Requests("")
		status, etag, part := getRange(t, env, rc.Token, b.id, grades.File, "bytes=100-1099", "")
		if status != http.StatusPartialContent || etag != `"`+grades.SHA256+`"` || !bytes.Equal(part, full[100:1100]) {
			t.Errorf("Range bytes=100-1099: HTTP %d, ETag %s, %d bytes; want 206, the SHA-256 and the file's bytes", status, etag, len(part))
		}
		var gets []string
		for _, r := range s3.Requests("/rexport/" + prefix + grades.File) {
			if r.Method == http.MethodGet {
				gets = append(gets, r.Range)
			}
		}
		if diff := cmp.Diff([]string{"bytes=100-"}, gets); diff != "" {
			t.Errorf("GETs of the object mismatch (-want +got):\n%s", diff)
		}
		// A resumed download: from an offset, If-Range on the ETag.
		status, _, rest := getRange(t, env, rc.Token, b.id, grades.File, "bytes=1500-", `"`+grades.SHA256+`"`)
		if status != http.StatusPartialContent || sha256Hex(append(full[:1500:1500], rest...)) != grades.SHA256 {
			t.Errorf("resume from 1500: HTTP %d, %d bytes that do not complete the file", status, len(rest))
		}
	})

	t.Run("StreamsArrowFromTheBucket", func(t *testing.T) {
		resp, body := getTableStream(t, env, rc.Token, b.id, export.TableGrades, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
		}
		rd, err := ipc.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Release()
		var recs []arrow.RecordBatch
		for rec, err := range array.IterFromReader(rd) {
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			rec.Retain()
			defer rec.Release()
			recs = append(recs, rec)
		}
		want := arrowTableBatches(t, b.tables[export.TableGrades])
		if diff := cmp.Diff(recordValues(want), recordValues(recs)); diff != "" {
			t.Errorf("stream values mismatch with the Parquet file (-file +stream):\n%s", diff)
		}
	})

	t.Run("ReadsTheDeliveryRecordForErasures", func(t *testing.T) {
		status, body := httpDo(t, env.url, http.MethodGet, "/v1/exports/"+b.id+"/erasures", rc.Token, nil)
		var list api.ErasureList
		if status != http.StatusOK || json.Unmarshal(body, &list) != nil || list.ExportId != b.id {
			t.Errorf("erasures: HTTP %d %s", status, body)
		}
	})

	t.Run("ReadyzPutsAndDeletesAProbe", func(t *testing.T) {
		if status, body := httpDo(t, env.url, http.MethodGet, "/readyz", "", nil); status != http.StatusOK {
			t.Errorf("/readyz = %d %s", status, body)
		}
		for _, k := range s3.Keys(t, "") {
			if !strings.HasPrefix(k, prefix) {
				t.Errorf("left in the bucket: %s", k)
			}
		}
	})

	t.Run("SweepDeletesTheExpiredExportsObjects", func(t *testing.T) {
		n, err := env.app.runner.Sweep(ctx, b.manifest.ExpiresAt.Add(time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("Sweep after the expiry removed %d (%v), want 1", n, err)
		}
		if keys := s3.Keys(t, ""); len(keys) != 0 {
			t.Errorf("objects left after the sweep: %v", keys)
		}
		got, err := env.app.meta.Export(ctx, b.id, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != export.StateExpired || got.FilesDeletedAt.IsZero() {
			t.Errorf("after the sweep: state %s, files_deleted_at %v; want expired and set", got.State, got.FilesDeletedAt)
		}
		if n, err := env.app.runner.Sweep(ctx, b.manifest.ExpiresAt.Add(2*time.Minute)); err != nil || n != 0 {
			t.Errorf("a second sweep removed %d (%v), want 0", n, err)
		}
	})

	t.Run("NotReadyWithoutTheStore", func(t *testing.T) {
		s3.Close()
		status, body := httpDo(t, env.url, http.MethodGet, "/readyz", "", nil)
		if status != http.StatusServiceUnavailable {
			t.Errorf("/readyz with the object store down = %d %s, want 503", status, body)
		}
		if strings.Contains(string(body), "127.0.0.1") {
			t.Errorf("/readyz names internals: %s", body)
		}
	})
}

// getRange GETs a file of an export with a Range header (and If-Range if
// set), returning the status, the ETag and the body.
func getRange(t *testing.T, env *e2e, token, id, name, rng, ifRange string) (int, string, []byte) {
	t.Helper()
	h := http.Header{"Range": {rng}}
	if ifRange != "" {
		h.Set("If-Range", ifRange)
	}
	resp, body := httpGet(t, env.url+"/v1/exports/"+id+"/files/"+name, token, h)
	return resp.StatusCode, resp.Header.Get("ETag"), body
}

// httpGet sends GET url with the token and headers, and reads the body.
func httpGet(t *testing.T, url, token string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response to %s: %v", req.URL.Path, err)
	}
	return resp, body
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
