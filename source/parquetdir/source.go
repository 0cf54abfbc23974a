// Package parquetdir is an export.Source over a directory of
// <table>.parquet files in the source schema — the form warehouse dumps
// take and `rexport fixtures --format parquet` writes — read in place,
// without loading them into a database.
//
// Its semantics are those of the SQLite source (source/sqlite): the same
// rows, learner facts, order and counts for the same data. Files are read
// a row group and a column at a time, row groups on GOMAXPROCS
// goroutines: a query's filter reads the columns it tests (course,
// learner, time), and only the rows it keeps are read from the other
// columns, in windows of rows (see columnar.go). Memory is bounded by the
// learners dimension (the learner facts, held for the join) plus a window
// and a page per column per goroutine. A table file that is not in key
// order, and any CSV file, is sorted once, on first use, into a temporary
// Parquet file by an external merge sort (runs of a bounded number of
// rows), which Close removes. Whether a file is in order is learned in the
// background from Open on, from what the file declares if rexport wrote
// it, else by reading its key columns; every read checks the order of the
// rows it returns all the same.
package parquetdir

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/source/files"
)

var (
	_ export.Source     = (*Source)(nil)
	_ export.TableSizer = (*Source)(nil)
)

// Source is a directory of table files. It is safe for concurrent use.
type Source struct {
	dir    string
	tables map[string]*tableFile
	// facts holds every learner's facts, by learner_id: the join of every
	// fact-table row with learners.
	facts *factsTable

	// runRows is the number of rows sorted in memory per run of the
	// external sort.
	runRows int

	tmpMu  sync.Mutex
	tmpDir string // created on the first sort

	bgCancel context.CancelFunc // stops checkOrders
	bgDone   chan struct{}      // closed when checkOrders returns
}

// tableFile is one table's file and what is known of its order.
type tableFile struct {
	file files.File
	key  []int // column indexes of the table's key

	mu      sync.Mutex
	known   bool       // whether the file is known to be in key order or not
	ordered bool       // the file is in key order
	sorted  files.File // the sorted copy of an unordered file, once made
}

// defaultRunRows bounds the rows one run of the external sort holds in
// memory: a few tens of MB for forum posts.
const defaultRunRows = 32768

// Open opens the table files in dir (see files.ReadDir: <table>.parquet,
// or <table>.csv) and reads the learner facts. learners.parquet and
// enrollments.parquet are required; a missing fact table is an error when
// it is scanned.
func Open(dir string) (*Source, error) {
	fs, err := files.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open source dir: %w", err)
	}
	s := &Source{dir: dir, tables: map[string]*tableFile{}, runRows: defaultRunRows}
	for _, f := range fs {
		tf := &tableFile{file: f}
		for _, k := range f.Table.Key {
			tf.key = append(tf.key, f.Table.ColumnIndex(k))
		}
		s.tables[f.Table.Name] = tf
	}
	for _, name := range []string{export.TableLearners, export.TableEnrollments} {
		if s.tables[name] == nil {
			return nil, fmt.Errorf("open source dir %s: no %s.parquet", dir, name)
		}
	}
	// While the facts load, and until the first scans, the other Parquet
	// files are checked for key order in the background: a build starts
	// on one core (facts, roster, scrubber), and the check would
	// otherwise come at the table's first scan.
	ctx, cancel := context.WithCancel(context.Background())
	s.bgCancel, s.bgDone = cancel, make(chan struct{})
	go func() {
		defer close(s.bgDone)
		s.checkOrders(ctx)
	}()
	if err := s.loadFacts(context.Background()); err != nil {
		s.stopBackground()
		return nil, fmt.Errorf("open source dir: %w", err)
	}
	return s, nil
}

// checkOrders learns whether each Parquet file but the learners' (which
// loadFacts reads first) is in key order, largest file first. It gives
// up at the first error: the scan that needs the file meets it again.
func (s *Source) checkOrders(ctx context.Context) {
	var tfs []*tableFile
	for name, tf := range s.tables {
		if name != export.TableLearners && tf.file.Format == files.Parquet {
			tfs = append(tfs, tf)
		}
	}
	size := func(tf *tableFile) int64 { return s.TableBytes(tf.file.Table.Name) }
	slices.SortFunc(tfs, func(a, b *tableFile) int { return cmp.Compare(size(b), size(a)) })
	for _, tf := range tfs {
		if ctx.Err() != nil || s.knowOrder(ctx, tf) != nil {
			return
		}
	}
}

// stopBackground stops checkOrders and waits for it.
func (s *Source) stopBackground() {
	s.bgCancel()
	<-s.bgDone
}

// Close stops the background work and removes the sorted copies of
// unordered files.
func (s *Source) Close() error {
	s.stopBackground()
	s.tmpMu.Lock()
	defer s.tmpMu.Unlock()
	if s.tmpDir == "" {
		return nil
	}
	err := os.RemoveAll(s.tmpDir)
	s.tmpDir = ""
	return err
}

// Dir returns the directory the source reads.
func (s *Source) Dir() string { return s.dir }

// Column indexes of the learners table used for the facts.
var (
	learnersTable, _ = export.SourceTable(export.TableLearners)
	lID              = learnersTable.ColumnIndex("learner_id")
	lFullName        = learnersTable.ColumnIndex("full_name")
	lEmail           = learnersTable.ColumnIndex("email")
	lUsername        = learnersTable.ColumnIndex("username")
	lBirth           = learnersTable.ColumnIndex("birth_date")
	lCity            = learnersTable.ColumnIndex("city")
	lPostal          = learnersTable.ColumnIndex("postal_code")
	lSignup          = learnersTable.ColumnIndex("signup_at")
	lOptOut          = learnersTable.ColumnIndex("research_opt_out")
	lConsent         = learnersTable.ColumnIndex("sensitive_consent")
	lDeleted         = learnersTable.ColumnIndex("deleted_at")
)

func (s *Source) loadFacts(ctx context.Context) error {
	tf := s.tables[export.TableLearners]
	file, err := s.ordered(ctx, tf)
	if err != nil {
		return err
	}
	pf, err := files.OpenParquet(file)
	if err != nil {
		return err
	}
	n := pf.NumRows()
	pf.Close()
	s.facts = newFactsTable(int(min(n, 1<<26)))
	cols := []int{lID, lOptOut, lDeleted, lConsent, lSignup, lBirth}
	return s.readRows(ctx, file, everyRow, cols, func(pos files.Pos, row export.Row, _ export.LearnerFacts) error {
		ok, err := s.facts.add(factsOf(row))
		if err != nil {
			col := "birth_date"
			if errors.Is(err, errTooManyIDs) {
				col = "learner_id"
			}
			return file.ErrorAt(pos, col, err)
		}
		if !ok {
			return file.ErrorAt(pos, "learner_id", errors.New("learner given twice"))
		}
		return nil
	})
}

// factsOf reads the facts of a learners row; files.Read has checked the
// types and the required columns.
func factsOf(row export.Row) export.LearnerFacts {
	fa := export.LearnerFacts{
		LearnerID:        row[lID].(string),
		OptedOut:         row[lOptOut].(bool),
		Deleted:          row[lDeleted] != nil,
		SensitiveConsent: row[lConsent].(bool),
		SignupAt:         row[lSignup].(time.Time),
	}
	if bd, ok := row[lBirth].(time.Time); ok {
		fa.BirthDate = bd
	}
	return fa
}

// filter is one SourceQuery resolved against the data: which rows of the
// table it selects.
type filter struct {
	table                          export.Table
	courses                        map[string]bool
	enrolled                       map[string]bool // learners enrolled in courses, if the table needs it
	courseCol, learnerCol, timeCol int
	from, to                       time.Time // truncated as the SQLite source stores them
}

// newFilter resolves q; ok=false means q selects nothing (no courses).
func (s *Source) newFilter(ctx context.Context, q export.SourceQuery) (filter, bool, error) {
	t, ok := export.SourceTable(q.Table)
	if !ok {
		return filter{}, false, fmt.Errorf("unknown source table %q", q.Table)
	}
	if len(q.Courses) == 0 {
		return filter{}, false, nil
	}
	f := filter{
		table:      t,
		courses:    make(map[string]bool, len(q.Courses)),
		courseCol:  t.ColumnIndex("course_id"),
		learnerCol: t.ColumnIndex("learner_id"),
		timeCol:    -1,
	}
	for _, c := range q.Courses {
		f.courses[c] = true
	}
	if t.Name == export.TableLearners || t.Name == export.TableSurveyDemographics {
		var err error
		if f.enrolled, err = s.enrolledIn(ctx, f.courses); err != nil {
			return filter{}, false, err
		}
	}
	if t.TimeColumn != "" {
		f.timeCol = t.ColumnIndex(t.TimeColumn)
		c := t.Columns[f.timeCol]
		f.from, f.to = storedTime(c, q.From), storedTime(c, q.To)
	}
	return f, true, nil
}

// storedTime is t as the SQLite source compares it: timestamps in UTC to
// the second, dates as the day of t. The zero time stays zero.
func storedTime(c export.Column, t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	if c.Type == export.TypeDate {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return t.UTC().Truncate(time.Second)
}

// enrolledIn returns the learners with an enrollment (any role) in one of
// courses.
func (s *Source) enrolledIn(ctx context.Context, courses map[string]bool) (map[string]bool, error) {
	t, _ := export.SourceTable(export.TableEnrollments)
	lc, cc := t.ColumnIndex("learner_id"), t.ColumnIndex("course_id")
	file, err := s.ordered(ctx, s.tables[export.TableEnrollments])
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	sel := func(pf *files.ParquetFile, g int) ([]int32, []int32, error) {
		keep := allKept(pf.RowGroupRows(g))
		err := matchBytes(pf, g, cc, keep, func(b []byte) bool { return courses[string(b)] })
		return rowsOf(keep), nil, err
	}
	err = s.readRows(ctx, file, sel, []int{lc}, func(_ files.Pos, row export.Row, _ export.LearnerFacts) error {
		out[row[lc].(string)] = true
		return nil
	})
	return out, err
}

// table returns the file of a table, or an error naming the missing file.
func (s *Source) table(name string) (*tableFile, error) {
	tf := s.tables[name]
	if tf == nil {
		return nil, fmt.Errorf("no %s.parquet in %s", name, s.dir)
	}
	return tf, nil
}

// Scan calls fn for every row selected by q, ordered by the table's key,
// from the table's file (or its sorted copy). Row groups are read and
// filtered on up to GOMAXPROCS goroutines, a column at a time: the columns
// the filter tests first, the others only for the rows it keeps; fn is
// called from one goroutine, in order. An empty q.Courses selects no
// rows. It returns the first error of fn, or ctx.Err() once ctx is done.
func (s *Source) Scan(ctx context.Context, q export.SourceQuery, fn func(export.SourceRow) error) (err error) {
	defer wrap(&err, "scan %s", q.Table)
	f, ok, err := s.newFilter(ctx, q)
	if err != nil || !ok {
		return err
	}
	tf, err := s.table(q.Table)
	if err != nil {
		return err
	}
	file, err := s.ordered(ctx, tf)
	if err != nil {
		return err
	}
	var cols []int // nil: all
	if q.Columns != nil {
		cols = append(cols, tf.key...) // for the order check
		for _, name := range q.Columns {
			if i := f.table.ColumnIndex(name); i >= 0 && !slices.Contains(cols, i) {
				cols = append(cols, i)
			}
		}
	}
	var order orderCheck
	err = s.readRows(ctx, file, s.selector(&f), cols, func(pos files.Pos, row export.Row, fa export.LearnerFacts) error {
		if !order.next(row, tf.key) {
			return file.ErrorAt(pos, "", errNotInOrder)
		}
		return fn(export.SourceRow{Row: row, Learner: fa})
	})
	if err != nil {
		return err
	}
	return ctx.Err()
}

// Count returns the number of rows Scan would visit for q. It reads only
// the columns the filter tests.
func (s *Source) Count(ctx context.Context, q export.SourceQuery) (n int64, err error) {
	defer wrap(&err, "count %s", q.Table)
	f, ok, err := s.newFilter(ctx, q)
	if err != nil || !ok {
		return 0, err
	}
	tf, err := s.table(q.Table)
	if err != nil {
		return 0, err
	}
	file, err := s.ordered(ctx, tf)
	if err != nil {
		return 0, err
	}
	sel := s.selector(&f)
	err = forGroups(ctx, file, func(pf *files.ParquetFile, g int, _ int64, emit func(int) error) error {
		rows, _, err := sel(pf, g)
		if err != nil {
			return err
		}
		return emit(len(rows))
	}, func(_ int, k int) error {
		n += int64(k)
		return nil
	})
	return n, err
}

// Roster calls fn for every person enrolled (any role) in one of courses,
// ordered by learner_id, with their learner facts.
func (s *Source) Roster(ctx context.Context, courses []string, fn func(export.RosterEntry) error) (err error) {
	defer wrap(&err, "roster")
	if len(courses) == 0 {
		return nil
	}
	set := make(map[string]bool, len(courses))
	for _, c := range courses {
		set[c] = true
	}
	enrolled, err := s.enrolledIn(ctx, set)
	if err != nil {
		return err
	}
	file, err := s.ordered(ctx, s.tables[export.TableLearners])
	if err != nil {
		return err
	}
	sel := func(pf *files.ParquetFile, g int) ([]int32, []int32, error) {
		keep := allKept(pf.RowGroupRows(g))
		err := matchBytes(pf, g, lID, keep, func(b []byte) bool { return enrolled[string(b)] })
		return rowsOf(keep), nil, err
	}
	str := func(v any) string { s, _ := v.(string); return s }
	cols := []int{lID, lFullName, lUsername, lEmail, lCity, lPostal}
	tf := s.tables[export.TableLearners]
	var order orderCheck
	return s.readRows(ctx, file, sel, cols, func(pos files.Pos, row export.Row, _ export.LearnerFacts) error {
		if !order.next(row, tf.key) {
			return file.ErrorAt(pos, "", errNotInOrder)
		}
		r := s.facts.findString(row[lID].(string))
		if r < 0 {
			return file.ErrorAt(pos, "learner_id", errors.New("learner not in the file the source was opened with: the file changed"))
		}
		return fn(export.RosterEntry{
			FullName: str(row[lFullName]), Username: str(row[lUsername]), Email: str(row[lEmail]),
			City: str(row[lCity]), PostalCode: str(row[lPostal]),
			Learner: s.facts.get(r),
		})
	})
}

// Courses returns the courses with the given ids, or all courses if ids is
// empty, ordered by course_id.
func (s *Source) Courses(ctx context.Context, ids []string) (_ []export.CourseInfo, err error) {
	defer wrap(&err, "courses")
	tf, err := s.table(export.TableCourses)
	if err != nil {
		return nil, err
	}
	file, err := s.ordered(ctx, tf)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []export.CourseInfo
	var order orderCheck
	err = s.readRows(ctx, file, everyRow, nil, func(pos files.Pos, row export.Row, _ export.LearnerFacts) error {
		if !order.next(row, tf.key) {
			return file.ErrorAt(pos, "", errNotInOrder)
		}
		c := export.CourseInfo{CourseID: row[0].(string), PartnerID: row[1].(string), Slug: row[2].(string), Title: row[3].(string)}
		if len(ids) == 0 || want[c.CourseID] {
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// errNotInOrder is the error of a file met out of key order after it was
// found in order.
var errNotInOrder = errors.New("not in key order: the file changed while the source was open, or declares an order it does not keep")

// orderCheck follows the keys of a stream of rows.
type orderCheck struct {
	prev   []any
	broken bool
}

// next reports whether row's key is not below the previous row's. It
// copies the key: fn may change the row.
func (o *orderCheck) next(row export.Row, key []int) bool {
	ok := true
	if o.prev != nil && compareKey(o.prev, row, key) > 0 {
		ok, o.broken = false, true
	}
	if o.prev == nil {
		o.prev = make([]any, len(key))
	}
	for i, k := range key {
		o.prev[i] = row[k]
	}
	return ok
}

// compareKey compares prevKey (the key values) with the key of row, in
// the order of SQLite's ORDER BY: NULL first, text by bytes.
func compareKey(prevKey []any, row export.Row, key []int) int {
	for i, k := range key {
		if c := export.CompareValues(prevKey[i], row[k]); c != 0 {
			return c
		}
	}
	return 0
}

// wrap gives an error the context of the operation that returned it.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}

// TableBytes returns the size of the table's file (0 if there is none):
// see export.TableSizer.
func (s *Source) TableBytes(table string) int64 {
	tf := s.tables[table]
	if tf == nil {
		return 0
	}
	st, err := os.Stat(tf.file.Path)
	if err != nil {
		return 0
	}
	return st.Size()
}
