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

// fileKey is the key of an export's file in the FileStore: each build
// uploads under a prefix of its own, named by its lease, so a build that
// was taken for dead and still uploads can never overwrite the files of
// the build that replaced it. Exports built before leases have none.
func fileKey(exportID, lease, name string) string {
	if lease == "" {
		return exportID + "/" + name
	}
	return exportID + "/" + lease + "/" + name
}

// filesPrefix is the prefix of every key of an export's files.
func filesPrefix(exportID string) string { return exportID + "/" }

// workDir is the local directory one build (named by its lease) of an
// export writes into before its files are uploaded.
func (r *Runner) workDir(id, lease string) string {
	return filepath.Join(r.workRoot(), "build-"+id+"."+lease)
}

func (r *Runner) workRoot() string {
	if r.WorkDir == "" {
		return os.TempDir()
	}
	return r.WorkDir
}

// removeWork removes the working directories earlier builds of the export
// left on this machine, when their worker died.
func (r *Runner) removeWork(id string) error {
	old, err := filepath.Glob(filepath.Join(r.workRoot(), "build-"+id+".*"))
	if err != nil {
		return err
	}
	for _, d := range old {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

// upload copies a built export's files from its working directory to the
// files store under the build's own prefix: the delivery record, then the
// files in order (the manifest is their last). The export is not ready
// until FinishBuild, so a crash midway serves nothing: the retry, under a
// lease of its own, uploads everything again, and the sweeper deletes
// what the crashed build left once the export is no longer served.
func (r *Runner) upload(ctx context.Context, e *Export, lease, dir string, files []File) error {
	names := []string{DeliveredName}
	for _, f := range files {
		names = append(names, f.Name)
	}
	for _, name := range names {
		if err := r.Files.Put(ctx, fileKey(e.ID, lease, name), filepath.Join(dir, name)); err != nil {
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
