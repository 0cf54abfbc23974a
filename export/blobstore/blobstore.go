// Package blobstore keeps the files of built exports in a gocloud.dev/blob
// bucket: a local directory (fileblob, plain files at <dir>/<key>) or
// S3-compatible object storage (s3blob) that several API replicas and
// workers share. It implements export.FileStore.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/rexport/rexport/export"
)

// Store is a files store on a bucket.
type Store struct {
	bucket *blob.Bucket
	// dir is the directory of a local store, "" for object storage:
	// there Put also fsyncs, and DeletePrefix removes the emptied
	// directory.
	dir string
}

var _ export.FileStore = (*Store)(nil)

// Open opens the files store at rawURL:
//
//   - a path, or file:///path: the local directory, created if missing;
//   - s3://bucket/prefix?endpoint=URL&region=R: the bucket of an
//     S3-compatible service, keys under prefix (optional), with
//     path-style addressing when an endpoint is given (use_path_style=false
//     turns it off) and credentials from the usual AWS environment
//     variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE...).
//     The other query parameters are gocloud.dev/blob/s3blob's.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	if rawURL == "" {
		return nil, errors.New("files store: no URL")
	}
	u, err := url.Parse(rawURL)
	if err != nil && strings.Contains(rawURL, "://") {
		// Not a path: never fall back to a local directory of that name.
		return nil, errors.New("files store: invalid URL")
	}
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // C:\ on Windows
		return OpenDir(rawURL)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("files store %s: a file URL names a local path (file:///path)", rawURL)
		}
		if len(u.Query()) > 0 {
			return nil, fmt.Errorf("files store %s: a local directory takes no parameters", rawURL)
		}
		return OpenDir(filepath.FromSlash(u.Path))
	case s3blob.Scheme:
		return openS3(ctx, u)
	}
	return nil, fmt.Errorf("files store %s: unknown scheme %q (a path, file:// or s3://)", u.Redacted(), u.Scheme)
}

// OpenDir opens the files store in a local directory, creating it if
// missing. Objects are plain files at <dir>/<key>, with no sidecar files.
func OpenDir(dir string) (*Store, error) {
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{
		CreateDir:   true,
		DirFileMode: 0o750,
		// Temporary files next to their final name: os.TempDir may be
		// on another file system, where the final rename fails.
		NoTempDir: true,
		Metadata:  fileblob.MetadataDontWrite,
	})
	if err != nil {
		return nil, fmt.Errorf("files store %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		b.Close()
		return nil, err
	}
	return &Store{bucket: b, dir: abs}, nil
}

func openS3(ctx context.Context, u *url.URL) (*Store, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("files store %s: no bucket (s3://bucket/prefix)", u.Redacted())
	}
	prefix := strings.Trim(u.Path, "/")
	q := u.Query()
	if q.Get("endpoint") != "" {
		// S3-compatible services (MinIO, gofakes3...) are addressed by
		// path more often than by virtual host.
		if q.Get("use_path_style") == "" && q.Get("s3ForcePathStyle") == "" {
			q.Set("use_path_style", "true")
		}
		if q.Get("region") == "" && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
			q.Set("region", "us-east-1") // signed for, mostly unchecked
		}
	}
	bu := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: q.Encode()}
	b, err := (&s3blob.URLOpener{}).OpenBucketURL(ctx, &bu)
	if err != nil {
		return nil, fmt.Errorf("files store s3://%s: %w", u.Host, err)
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix+"/")
	}
	return &Store{bucket: b}, nil
}

// Close releases the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Put uploads the local file at path under key. The object appears only
// when complete: fileblob renames a temporary file into place (fsynced
// first, like the directory after), S3 creates an object only when its
// upload completes, and a failed Put aborts the upload.
func (s *Store) Put(ctx context.Context, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.write(ctx, key, f)
}

// write uploads what r gives under key; an error of r leaves no object.
func (s *Store) write(ctx context.Context, key string, r io.Reader) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var local *os.File
	opts := &blob.WriterOptions{ContentType: "application/octet-stream"}
	if s.dir != "" {
		opts.BeforeWrite = func(as func(any) bool) error {
			if as(&local) {
				return local.Chmod(0o640)
			}
			return nil
		}
	}
	w, err := s.bucket.NewWriter(ctx, key, opts)
	if err != nil {
		return wrap(err, key)
	}
	_, err = io.Copy(w, r)
	if err == nil && local != nil {
		err = local.Sync()
	}
	if err != nil {
		cancel() // before Close: the write is aborted, not completed
		w.Close()
		return wrap(err, key)
	}
	if err := w.Close(); err != nil {
		return wrap(err, key)
	}
	if s.dir != "" {
		return export.SyncDir(filepath.Dir(filepath.Join(s.dir, filepath.FromSlash(key))))
	}
	return nil
}

// Open opens the object at key; ENOTFOUND if there is none.
func (s *Store) Open(ctx context.Context, key string) (export.StoredFile, error) {
	attrs, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return nil, wrap(err, key)
	}
	return &object{ctx: ctx, bucket: s.bucket, key: key, size: attrs.Size, modTime: attrs.ModTime}, nil
}

// DeletePrefix deletes every object under prefix (and, in a local store,
// the directory prefix names once it is empty).
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return errors.New("files store: DeletePrefix needs a prefix")
	}
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		} else if err != nil {
			return wrap(err, prefix)
		}
		if err := s.bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return wrap(err, obj.Key)
		}
	}
	if s.dir != "" && strings.HasSuffix(prefix, "/") {
		// fileblob leaves directories behind; one still holding a file
		// (a Put racing the delete) stays.
		err := os.Remove(filepath.Join(s.dir, filepath.FromSlash(prefix)))
		if err != nil && !errors.Is(err, os.ErrNotExist) && !isNotEmpty(err) {
			return err
		}
	}
	return nil
}

// Dirs lists the first segments of the keys that have a "/", sorted.
func (s *Store) Dirs(ctx context.Context) ([]string, error) {
	var dirs []string
	it := s.bucket.List(&blob.ListOptions{Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, wrap(err, "")
		}
		if obj.IsDir {
			dirs = append(dirs, strings.TrimSuffix(obj.Key, "/"))
		}
	}
	sort.Strings(dirs)
	return dirs, nil
}

// wrap makes a missing object ENOTFOUND and names the key of any other
// error.
func wrap(err error, key string) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return export.Errorf(export.ENOTFOUND, "files store: no object %q", key)
	}
	return fmt.Errorf("files store: %s: %w", key, err)
}

func isNotEmpty(err error) bool {
	return errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}

// blockSize and maxBlocks bound what an object read at offsets keeps:
// Parquet readers make many small reads, which become one range request
// per block instead of one each.
const (
	blockSize = 1 << 20
	maxBlocks = 8
)

// object is an open object: Read and Seek stream from the current offset
// with one range request, reopened after a seek; ReadAt reads whole
// blocks and keeps the last few. ReadAt may be called concurrently, as
// io.ReaderAt allows; Read and Seek may not.
type object struct {
	ctx     context.Context
	bucket  *blob.Bucket
	key     string
	size    int64
	modTime time.Time

	off int64
	r   *blob.Reader // at off; nil until a Read

	mu     sync.Mutex
	blocks []block // most recently used first
}

type block struct {
	index int64
	data  []byte
}

func (o *object) Size() int64        { return o.size }
func (o *object) ModTime() time.Time { return o.modTime }

func (o *object) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF
	}
	if o.r == nil {
		r, err := o.bucket.NewRangeReader(o.ctx, o.key, o.off, -1, nil)
		if err != nil {
			return 0, wrap(err, o.key)
		}
		o.r = r
	}
	n, err := o.r.Read(p)
	o.off += int64(n)
	if err != nil && err != io.EOF {
		err = wrap(err, o.key)
	}
	return n, err
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += o.off
	case io.SeekEnd:
		offset += o.size
	case io.SeekStart:
	default:
		return o.off, fmt.Errorf("files store: %s: seek: invalid whence %d", o.key, whence)
	}
	if offset < 0 {
		return o.off, fmt.Errorf("files store: %s: seek to a negative offset", o.key)
	}
	if offset != o.off && o.r != nil {
		o.r.Close()
		o.r = nil
	}
	o.off = offset
	return offset, nil
}

func (o *object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("files store: %s: read at a negative offset", o.key)
	}
	if len(p) >= blockSize {
		// Large enough to be worth its own request.
		return o.readRange(p, off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= o.size {
			return n, io.EOF
		}
		data, err := o.block(pos / blockSize)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], data[pos%blockSize:])
	}
	return n, nil
}

// readRange reads len(p) bytes at off with one range request.
func (o *object) readRange(p []byte, off int64) (int, error) {
	if off >= o.size {
		return 0, io.EOF
	}
	length := min(int64(len(p)), o.size-off)
	r, err := o.bucket.NewRangeReader(o.ctx, o.key, off, length, nil)
	if err != nil {
		return 0, wrap(err, o.key)
	}
	defer r.Close()
	n, err := io.ReadFull(r, p[:length])
	if err != nil {
		return n, wrap(err, o.key)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// block returns block i, from the cache or read into it.
func (o *object) block(i int64) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for j, b := range o.blocks {
		if b.index == i {
			copy(o.blocks[1:j+1], o.blocks[:j])
			o.blocks[0] = b
			return b.data, nil
		}
	}
	start := i * blockSize
	data := make([]byte, min(blockSize, o.size-start))
	if _, err := o.readRange(data, start); err != nil && err != io.EOF {
		return nil, err
	}
	if len(o.blocks) == maxBlocks {
		o.blocks = o.blocks[:maxBlocks-1]
	}
	o.blocks = append([]block{{index: i, data: data}}, o.blocks...)
	return data, nil
}

func (o *object) Close() error {
	o.mu.Lock()
	o.blocks = nil
	o.mu.Unlock()
	if o.r == nil {
		return nil
	}
	err := o.r.Close()
	o.r = nil
	return err
}
