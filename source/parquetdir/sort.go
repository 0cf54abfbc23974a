package parquetdir

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
	"github.com/rexport/rexport/source/files"
)

// mergeGroupRows is the row group size of the runs: the merge holds one
// row group per run in memory.
const mergeGroupRows = 1024

// ordered returns the Parquet file to stream tf's table from in key
// order: the table's own file if it is a Parquet file in key order
// (learned once: from what the file declares, if rexport wrote it, else by
// reading the key columns), else a sorted Parquet copy made on first use
// (a CSV file always gets one).
func (s *Source) ordered(ctx context.Context, tf *tableFile) (files.File, error) {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	if err := tf.knowOrderLocked(ctx); err != nil {
		return files.File{}, err
	}
	if tf.ordered {
		return tf.file, nil
	}
	if tf.sorted.Path == "" {
		sorted, err := s.sortFile(ctx, tf)
		if err != nil {
			return files.File{}, fmt.Errorf("sort %s by %v: %w", tf.file.Name(), tf.file.Table.Key, err)
		}
		tf.sorted = sorted
	}
	return tf.sorted, nil
}

// knowOrder learns whether tf's file is in key order, if not known yet.
func (s *Source) knowOrder(ctx context.Context, tf *tableFile) error {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	return tf.knowOrderLocked(ctx)
}

// knowOrderLocked is knowOrder with tf.mu held. A CSV file is never in
// order: it is not Parquet.
func (tf *tableFile) knowOrderLocked(ctx context.Context) error {
	if tf.known {
		return nil
	}
	if tf.file.Format == files.Parquet {
		ok, err := declaredInOrder(tf.file, tf.key)
		if err == nil && !ok {
			ok, err = checkOrder(ctx, tf.file, tf.key)
		}
		if err != nil {
			return err
		}
		tf.ordered = ok
	}
	tf.known = true
	return nil
}

// declaredInOrder reports whether the Parquet file, written by rexport,
// declares its rows in the order of key (its row groups' sorting_columns
// start with the key) and its row groups' statistics show them in that
// order too, which saves reading the key columns. rexport's Writer checks
// the order it declares; another writer's declaration is not trusted (a
// user can declare any order). Should a file still not keep it, every
// reader of the source checks the order of the rows it returns (see
// orderCheck) and fails: the file is not silently misread.
func declaredInOrder(file files.File, key []int) (bool, error) {
	pf, err := files.OpenParquet(file)
	if err != nil {
		return false, err
	}
	defer pf.Close()
	if !pf.WrittenByRexport() {
		return false, nil
	}
	t := file.Table
	declared := pf.SortedBy()
	if len(key) == 0 || len(declared) < len(key) {
		return false, nil
	}
	for i, c := range key {
		if declared[i] != t.Columns[c].Name {
			return false, nil
		}
	}
	// Across row groups: each group's first key column must not go
	// below the previous group's, strictly if the key has more columns
	// (the statistics say nothing of those).
	var prevHi []byte
	for g := range pf.NumRowGroups() {
		if pf.RowGroupRows(g) == 0 {
			continue
		}
		lo, hi, ok := pf.StringBounds(g, pf.Col[key[0]])
		if !ok {
			return false, nil
		}
		if prevHi != nil {
			if c := bytes.Compare(prevHi, lo); c > 0 || c == 0 && len(key) > 1 {
				return false, nil
			}
		}
		prevHi = hi
	}
	return true, nil
}

var errStop = errors.New("stop")

// sortFile writes a copy of tf's file sorted by key (stable: rows with
// equal keys keep their order) into the temporary directory: runs of
// s.runRows rows sorted in memory, then merged.
func (s *Source) sortFile(ctx context.Context, tf *tableFile) (_ files.File, err error) {
	dir, err := s.tempDir()
	if err != nil {
		return files.File{}, err
	}
	t := tf.file.Table
	runDir, err := os.MkdirTemp(dir, t.Name+"-runs-")
	if err != nil {
		return files.File{}, err
	}
	defer os.RemoveAll(runDir)
	less := func(a, b export.Row) int {
		for _, k := range tf.key {
			if c := export.CompareValues(a[k], b[k]); c != 0 {
				return c
			}
		}
		return 0
	}
	var (
		runs []string
		buf  = make([]export.Row, 0, min(s.runRows, 4096))
	)
	flush := func() error {
		slices.SortStableFunc(buf, less)
		p := filepath.Join(runDir, fmt.Sprintf("run-%06d.parquet", len(runs)))
		if err := writeRows(p, t, parquet.Options{MaxRowsPerRowGroup: mergeGroupRows}, slices.Values(buf)); err != nil {
			return err
		}
		runs = append(runs, p)
		clear(buf)
		buf = buf[:0]
		return nil
	}
	err = files.Read(ctx, tf.file, func(_ files.Pos, row export.Row) error {
		buf = append(buf, row)
		if len(buf) >= s.runRows {
			return flush()
		}
		return nil
	})
	if err == nil && (len(buf) > 0 || len(runs) == 0) {
		err = flush()
	}
	if err != nil {
		return files.File{}, err
	}
	out := filepath.Join(dir, t.Name+".parquet")
	defer func() {
		if err != nil {
			os.Remove(out)
		}
	}()
	if len(runs) == 1 {
		if err := os.Rename(runs[0], out); err != nil {
			return files.File{}, err
		}
	} else if err := mergeRuns(ctx, out, t, runs, less); err != nil {
		return files.File{}, err
	}
	return files.File{Table: t, Path: out, Format: files.Parquet}, nil
}

func (s *Source) tempDir() (string, error) {
	s.tmpMu.Lock()
	defer s.tmpMu.Unlock()
	if s.tmpDir == "" {
		d, err := os.MkdirTemp("", "rexport-parquetdir-")
		if err != nil {
			return "", err
		}
		s.tmpDir = d
	}
	return s.tmpDir, nil
}

// writeRows writes the rows of rows to a new Parquet file at path.
func writeRows(path string, t export.Table, opts parquet.Options, rows func(yield func(export.Row) bool)) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w, err := parquet.NewWriter(f, t.Columns, opts)
	if err != nil {
		return err
	}
	for row := range rows {
		if err = w.Write(row); err != nil {
			return err
		}
	}
	return w.Close()
}

// mergeRuns merges the sorted runs into one file at out; of equal keys the
// row of the earlier run comes first, so the merge is stable.
func mergeRuns(ctx context.Context, out string, t export.Table, runs []string, less func(a, b export.Row) int) (err error) {
	h := &runHeap{less: less}
	defer func() {
		for _, c := range h.cursors {
			c.close()
		}
	}()
	for i, p := range runs {
		c, err := openRun(p, i)
		if err != nil {
			return err
		}
		if err := c.advance(); err != nil {
			c.close()
			if errors.Is(err, io.EOF) {
				continue
			}
			return err
		}
		h.cursors = append(h.cursors, c)
	}
	heap.Init(h)
	var mergeErr error
	n := 0
	rows := func(yield func(export.Row) bool) {
		for h.Len() > 0 {
			if n++; n%1024 == 0 {
				if mergeErr = ctx.Err(); mergeErr != nil {
					return
				}
			}
			c := h.cursors[0]
			if !yield(c.row) {
				return
			}
			if err := c.advance(); err != nil {
				if !errors.Is(err, io.EOF) {
					mergeErr = err
					return
				}
				c.close()
				heap.Pop(h)
				continue
			}
			heap.Fix(h, 0)
		}
	}
	if err := writeRows(out, t, parquet.Options{SortedBy: t.Key}, rows); err != nil {
		return err
	}
	return mergeErr
}

// runCursor reads one run.
type runCursor struct {
	f   *os.File
	r   *parquet.Reader
	row export.Row
	idx int // the run's position, for stability
}

func openRun(path string, idx int) (*runCursor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := parquet.NewReader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &runCursor{f: f, r: r, idx: idx}, nil
}

func (c *runCursor) advance() (err error) {
	c.row, err = c.r.Next()
	return err
}

func (c *runCursor) close() {
	if c.f != nil {
		c.r.Close()
		c.f.Close()
		c.f = nil
	}
}

type runHeap struct {
	cursors []*runCursor
	less    func(a, b export.Row) int
}

func (h *runHeap) Len() int { return len(h.cursors) }
func (h *runHeap) Less(i, j int) bool {
	a, b := h.cursors[i], h.cursors[j]
	if c := h.less(a.row, b.row); c != 0 {
		return c < 0
	}
	return a.idx < b.idx
}
func (h *runHeap) Swap(i, j int) { h.cursors[i], h.cursors[j] = h.cursors[j], h.cursors[i] }
func (h *runHeap) Push(x any)    { h.cursors = append(h.cursors, x.(*runCursor)) }
func (h *runHeap) Pop() any {
	c := h.cursors[len(h.cursors)-1]
	h.cursors = h.cursors[:len(h.cursors)-1]
	return c
}
