// Package s3test gives tests an S3-compatible object store in the process:
// gofakes3 over its in-memory backend, served on 127.0.0.1.
package s3test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a fake S3 service with one bucket.
type Server struct {
	Bucket  string
	backend *s3mem.Backend
	srv     *httptest.Server

	mu       sync.Mutex
	requests []Request
}

// Request is a request the server answered.
type Request struct {
	Method, Path, Range string
}

// Start starts a server for t, with a bucket named bucket, and points the
// AWS SDK's environment at it: fake credentials, no shared config files,
// no instance metadata. It uses t.Setenv, so t may not be parallel.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	s := &Server{Bucket: bucket, backend: s3mem.New()}
	if err := s.backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(s.backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	handler := fake.Server()
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range")})
		s.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	// A client that stops reading a body midway makes gofakes3 log a
	// superfluous WriteHeader: not the tests' business.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	return s
}

// Close stops the server: the store becomes unreachable.
func (s *Server) Close() { s.srv.Close() }

// URL is the files store URL of the bucket, keys under prefix ("": none).
func (s *Server) URL(prefix string) string {
	return "s3://" + s.Bucket + "/" + prefix + "?endpoint=" + url.QueryEscape(s.srv.URL)
}

// Keys lists the keys in the bucket under prefix, read from the backend
// directly, sorted.
func (s *Server) Keys(t testing.TB, prefix string) []string {
	t.Helper()
	list, err := s.backend.ListBucket(s.Bucket, &gofakes3.Prefix{HasPrefix: prefix != "", Prefix: prefix}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	slices.Sort(keys)
	return keys
}

// Requests returns the requests answered so far whose path starts with
// pathPrefix, and forgets them.
func (s *Server) Requests(pathPrefix string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	s.requests = nil
	return out
}
