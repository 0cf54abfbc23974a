package blobstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/internal/s3test"
)

// backend is a store under test and a way to see its objects other than
// through it.
type backend struct {
	store *Store
	// keys lists the objects stored, read around the store.
	keys func(t *testing.T) []string
	s3   *s3test.Server // nil for the local directory
}

func localBackend(t *testing.T) backend {
	dir := filepath.Join(t.TempDir(), "exports")
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return backend{store: s, keys: func(t *testing.T) []string {
		var keys []string
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, path)
				keys = append(keys, filepath.ToSlash(rel))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}}
}

func s3Backend(t *testing.T) backend {
	srv := s3test.Start(t, "exports")
	s, err := Open(context.Background(), srv.URL("rexport/files"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return backend{store: s, s3: srv, keys: func(t *testing.T) []string {
		var keys []string
		for _, k := range srv.Keys(t, "") {
			rel, ok := strings.CutPrefix(k, "rexport/files/")
			if !ok {
				t.Errorf("object %q outside the URL's prefix", k)
			}
			keys = append(keys, rel)
		}
		return keys
	}}
}

func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Run("Local", func(t *testing.T) { test(t, localBackend(t)) })
	t.Run("S3", func(t *testing.T) { test(t, s3Backend(t)) })
}

// putBytes stores data under key through a local file, as builds do.
func putBytes(t *testing.T, s *Store, key string, data []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), key, path); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func open(t *testing.T, s *Store, key string) export.StoredFile {
	t.Helper()
	f, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestStore(t *testing.T) {
	// Three blocks and a bit: reads at offsets cross block boundaries.
	data := randomBytes(3*blockSize + 12345)

	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		putBytes(t, b.store, "exp_a/grades.parquet", data)

		t.Run("ReadsWhole", func(t *testing.T) {
			f := open(t, b.store, "exp_a/grades.parquet")
			if f.Size() != int64(len(data)) {
				t.Errorf("Size() = %d, want %d", f.Size(), len(data))
			}
			if time.Since(f.ModTime()) > time.Hour {
				t.Errorf("ModTime() = %v, want about now", f.ModTime())
			}
			got, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadAll: %d bytes (%v), want the %d stored", len(got), err, len(data))
			}
		})

		t.Run("SeeksAndReads", func(t *testing.T) {
			f := open(t, b.store, "exp_a/grades.parquet")
			for _, off := range []int64{blockSize - 10, 5, int64(len(data)) - 3} {
				if pos, err := f.Seek(off, io.SeekStart); err != nil || pos != off {
					t.Fatalf("Seek(%d) = %d, %v", off, pos, err)
				}
				got := make([]byte, 20)
				n, err := io.ReadFull(f, got)
				want := data[off:min(off+20, int64(len(data)))]
				if !bytes.Equal(got[:n], want) || (n == 20) != (err == nil) {
					t.Errorf("at %d: read %d bytes (%v), want %d matching", off, n, err, len(want))
				}
			}
			if end, err := f.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
				t.Errorf("Seek(0, SeekEnd) = %d, %v", end, err)
			}
			if n, err := f.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Errorf("Read at the end = %d, %v; want io.EOF", n, err)
			}
		})

		t.Run("ReadsAt", func(t *testing.T) {
			f := open(t, b.store, "exp_a/grades.parquet")
			for _, tt := range []struct {
				off, n int64
			}{
				{0, 4}, {blockSize - 2, 4}, {10, blockSize + 7}, {2*blockSize - 100, 2 * blockSize}, {int64(len(data)) - 8, 8},
			} {
				got := make([]byte, tt.n)
				n, err := f.ReadAt(got, tt.off)
				want := data[tt.off:min(tt.off+tt.n, int64(len(data)))]
				if !bytes.Equal(got[:n], want) {
					t.Errorf("ReadAt(%d bytes at %d): %d bytes, not the stored ones", tt.n, tt.off, n)
				}
				if short := int64(len(want)) < tt.n; short != (err == io.EOF) || !short && err != nil {
					t.Errorf("ReadAt(%d bytes at %d) error = %v (%d bytes left)", tt.n, tt.off, err, len(want))
				}
			}
			if n, err := f.ReadAt(make([]byte, 4), int64(len(data))); n != 0 || err != io.EOF {
				t.Errorf("ReadAt past the end = %d, %v; want io.EOF", n, err)
			}
		})

		t.Run("ServesRanges", func(t *testing.T) {
			f := open(t, b.store, "exp_a/grades.parquet")
			if b.s3 != nil {
				b.s3.Requests("")
			}
			req := httptest.NewRequest(http.MethodGet, "/f", nil)
			req.Header.Set("Range", "bytes=1048570-1048589")
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Type", "application/octet-stream") // no sniffing
			http.ServeContent(rec, req, "", f.ModTime(), f)
			if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), data[1048570:1048590]) {
				t.Fatalf("Range request: HTTP %d, %d bytes; want 206 and the 20 stored", rec.Code, rec.Body.Len())
			}
			if b.s3 == nil {
				return
			}
			var gets []string
			for _, r := range b.s3.Requests("/exports/") {
				if r.Method == http.MethodGet {
					gets = append(gets, r.Range)
				}
			}
			if diff := cmp.Diff([]string{"bytes=1048570-"}, gets); diff != "" {
				t.Errorf("S3 GETs mismatch (-want +got):\n%s", diff)
			}
		})

		t.Run("MissingIsNotFound", func(t *testing.T) {
			if _, err := b.store.Open(ctx, "exp_a/none.parquet"); export.ErrorCode(err) != export.ENOTFOUND {
				t.Errorf("Open of a missing key: %v, want ENOTFOUND", err)
			}
		})

		t.Run("ListsAndDeletes", func(t *testing.T) {
			putBytes(t, b.store, "exp_a/manifest.json", []byte("{}"))
			putBytes(t, b.store, "exp_ab/manifest.json", []byte("{}"))
			putBytes(t, b.store, ".ready-probe", []byte{})
			dirs, err := b.store.Dirs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"exp_a", "exp_ab"}, dirs); diff != "" {
				t.Errorf("Dirs() mismatch (-want +got):\n%s", diff)
			}
			if err := b.store.DeletePrefix(ctx, "exp_a/"); err != nil {
				t.Fatal(err)
			}
			if err := b.store.DeletePrefix(ctx, ".ready-probe"); err != nil {
				t.Fatal(err)
			}
			if err := b.store.DeletePrefix(ctx, "exp_none/"); err != nil {
				t.Errorf("DeletePrefix of nothing: %v", err)
			}
			if diff := cmp.Diff([]string{"exp_ab/manifest.json"}, b.keys(t)); diff != "" {
				t.Errorf("objects after deleting exp_a/ mismatch (-want +got):\n%s", diff)
			}
			if dirs, err := b.store.Dirs(ctx); err != nil || !slices.Equal(dirs, []string{"exp_ab"}) {
				t.Errorf("Dirs() after the delete = %v, %v", dirs, err)
			}
			if b.store.dir != "" {
				if _, err := os.Stat(filepath.Join(b.store.dir, "exp_a")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the emptied directory is still there: %v", err)
				}
			}
			if err := b.store.DeletePrefix(ctx, ""); err == nil {
				t.Error("DeletePrefix(\"\") deleted everything")
			}
		})

		t.Run("FailedPutLeavesNoObject", func(t *testing.T) {
			putBytes(t, b.store, "exp_c/old.parquet", []byte("old"))
			before := b.keys(t)
			for _, key := range []string{"exp_c/new.parquet", "exp_c/old.parquet"} {
				// Enough for S3 to have started a multipart upload (8 MiB
				// parts) when the reader fails.
				r := io.MultiReader(bytes.NewReader(make([]byte, 20<<20)), errReader{})
				if err := b.store.write(ctx, key, r); err == nil || !strings.Contains(err.Error(), "disk on fire") {
					t.Fatalf("write(%s) of a failing reader: %v", key, err)
				}
			}
			if diff := cmp.Diff(before, b.keys(t)); diff != "" {
				t.Errorf("objects after failed puts mismatch (-want +got):\n%s", diff)
			}
			f := open(t, b.store, "exp_c/old.parquet")
			if got, err := io.ReadAll(f); err != nil || string(got) != "old" {
				t.Errorf("the object a failed put would have replaced reads %q, %v", got, err)
			}
		})
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestLocalLayout checks the local store keeps today's layout: plain
// files at <dir>/<export id>/<name>, readable by owner and group, and
// nothing beside them.
func TestLocalLayout(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "exports")
	s, err := Open(context.Background(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	putBytes(t, s, "exp_a/grades.parquet", []byte("PAR1"))
	entries, err := os.ReadDir(filepath.Join(dir, "exp_a"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"grades.parquet"}, names); diff != "" {
		t.Errorf("files in the export's directory mismatch (-want +got):\n%s", diff)
	}
	st, err := os.Stat(filepath.Join(dir, "exp_a", "grades.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("file mode %v, want 0640", st.Mode().Perm())
	}
}

func TestOpenURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, bad := range []string{"", "ftp://host/x", "s3:///prefix", "file://elsewhere/x", "file:///tmp/x?create_dir=1"} {
		if s, err := Open(ctx, bad); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}
