package export

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// FileStore keeps the files of built exports, each under the key
// "<export id>/<name>": a local directory, or object storage that every
// API replica and worker shares. Adapters: export/blobstore.
type FileStore interface {
	// Put stores the local file at path under key, replacing any object
	// there. A reader sees the whole new object or the old one, never a
	// part: also when Put fails, or the process dies, midway.
	Put(ctx context.Context, key, path string) error
	// Open opens the object at key for reading. It returns ENOTFOUND if
	// there is none.
	Open(ctx context.Context, key string) (StoredFile, error)
	// DeletePrefix deletes every object whose key starts with prefix, a
	// non-empty string; finding none is not an error.
	DeletePrefix(ctx context.Context, prefix string) error
	// Dirs lists the first segments ("<export id>") of the keys that have
	// one, sorted: the exports that have files.
	Dirs(ctx context.Context) ([]string, error)
}

// StoredFile is an object of a FileStore open for reading: in sequence
// and by seeking (http.ServeContent, for Range requests), or at offsets
// (Parquet readers). It reads under the context it was opened with.
type StoredFile interface {
	io.ReadSeekCloser
	io.ReaderAt
	Size() int64
	ModTime() time.Time
}

// fileKey is the key of an export's file in the FileStore.
func fileKey(exportID, name string) string { return exportID + "/" + name }

// filesPrefix is the prefix of every key of an export's files.
func filesPrefix(exportID string) string { return exportID + "/" }

// workDir is the local directory an export is built in before its files
// are uploaded.
func (r *Runner) workDir(id string) string {
	dir := r.WorkDir
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "build-"+id)
}

// upload copies a built export's files from its working directory to the
// files store: anything an earlier attempt left under the export's prefix
// goes first, then the delivery record, then files in order (the manifest
// is their last). The export is not ready until FinishBuild, so a crash
// midway serves nothing: the retry uploads everything again.
func (r *Runner) upload(ctx context.Context, id, dir string, files []File) error {
	if err := r.Files.DeletePrefix(ctx, filesPrefix(id)); err != nil {
		return fmt.Errorf("clearing the files store: %w", err)
	}
	names := []string{DeliveredName}
	for _, f := range files {
		names = append(names, f.Name)
	}
	for _, name := range names {
		if err := r.Files.Put(ctx, fileKey(id, name), filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("uploading %s: %w", name, err)
		}
	}
	return nil
}

// CheckFiles checks that the files store takes writes: it puts a probe
// object, outside any export's prefix, and deletes it.
func (r *Runner) CheckFiles(ctx context.Context) error {
	if r.WorkDir != "" {
		if err := os.MkdirAll(r.WorkDir, 0o750); err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(r.WorkDir, ".ready-*")
	if err != nil {
		return err
	}
	f.Close()
	defer os.Remove(f.Name())
	var nonce [8]byte
	rand.Read(nonce[:])
	key := ".ready-" + hex.EncodeToString(nonce[:])
	if err := r.Files.Put(ctx, key, f.Name()); err != nil {
		return err
	}
	return r.Files.DeletePrefix(ctx, key)
}
