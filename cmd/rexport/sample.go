package main

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/fixtures"
	srcsqlite "github.com/rexport/rexport/source/sqlite"
)

// sampleLearners sizes the synthetic sample export.
const sampleLearners = 60

// sampleSet builds the sample export once per data directory and keeps
// its zip at <data>/sample/rexport-sample.zip.
type sampleSet struct {
	dir  string
	mu   sync.Mutex
	path string
}

// get returns the sample's zip, building it on first use: generated
// fixtures, one partner's courses, every table with free text and
// sensitive columns, through the real build pipeline under a throwaway
// key (the data describe nobody, and its pseudonyms match nothing).
func (s *sampleSet) get(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path != "" {
		return s.path, nil
	}
	final := filepath.Join(s.dir, "rexport-sample.zip")
	if _, err := os.Stat(final); err == nil {
		s.path = final
		return final, nil
	}
	work, err := os.MkdirTemp("", "rexport-sample-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	srcPath := filepath.Join(work, "source.db")
	if err := writeFixturesDB(ctx, fixtures.Config{Learners: sampleLearners, Seed: 1}, srcPath, nil); err != nil {
		return "", err
	}
	src, err := srcsqlite.Open(srcPath)
	if err != nil {
		return "", err
	}
	defer src.Close()
	courses, err := src.Courses(ctx, nil)
	if err != nil {
		return "", err
	}
	if len(courses) == 0 {
		return "", fmt.Errorf("sample: the fixtures have no courses")
	}
	partner := courses[0].PartnerID
	var own []string
	for _, c := range courses {
		if c.PartnerID == partner {
			own = append(own, c.CourseID)
		}
	}
	key, err := deidentify.GenerateMasterKey(rand.Reader)
	if err != nil {
		return "", err
	}
	b := &export.Builder{Source: src, Master: key, Encoder: parquetEncoder, FileExt: ".parquet"}
	in := export.BuildInput{
		ExportID: "exp_sample", PartnerID: partner, KeyVersion: 1,
		Request: export.Request{Title: "Synthetic sample export", Courses: own, Tables: export.TableNames(),
			IncludeFreeText: true, IncludeSensitive: true, Linkage: export.LinkagePartner, TimePrecision: "hour", Mode: export.ModeFull},
		DUA: export.DUA{AllowedTables: export.TableNames(), AllowFreeText: true, AllowSensitive: true},
	}
	out := filepath.Join(work, "export")
	m, err := b.Build(ctx, in, out, nil)
	if err != nil {
		return "", fmt.Errorf("sample: %w", err)
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return "", err
	}
	names := []string{export.ManifestName}
	for _, f := range m.Files() {
		names = append(names, f.Name)
	}
	if err := writeZip(final, out, names, m.GeneratedAt); err != nil {
		return "", err
	}
	s.path = final
	return final, nil
}

// writeZip writes the named files of dir into a zip at path, atomically.
func writeZip(path, dir string, names []string, modified time.Time) error {
	return export.WriteFileAtomic(filepath.Dir(path), filepath.Base(path), func(out io.Writer) error {
		zw := zip.NewWriter(out)
		for _, name := range names {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
			if err != nil {
				return err
			}
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			_, err = io.Copy(w, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return zw.Close()
	})
}
