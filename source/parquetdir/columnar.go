package parquetdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
	"github.com/rexport/rexport/source/files"
)

// Rows are read a row group and a column at a time. A selectFunc decides
// which rows of a row group are wanted, reading only the columns it
// tests; readRows then reads the other columns for those rows alone, so
// the values of rows no query selects are never converted.

// selectFunc returns the rows of row group g wanted (indexes within the
// group, increasing) and, if the table joins learners, the facts record
// (see factsTable) of each row's learner.
type selectFunc func(pf *files.ParquetFile, g int) ([]int32, []int32, error)

// everyRow selects every row.
func everyRow(pf *files.ParquetFile, g int) ([]int32, []int32, error) {
	rows := make([]int32, pf.RowGroupRows(g))
	for i := range rows {
		rows[i] = int32(i)
	}
	return rows, nil, nil
}

// rowsOf returns the indexes of the true elements of keep.
func rowsOf(keep []bool) []int32 {
	var rows []int32
	for i, k := range keep {
		if k {
			rows = append(rows, int32(i))
		}
	}
	return rows
}

// allKept returns n trues.
func allKept(n int) []bool {
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	return keep
}

// matchBytes clears keep[i] for each kept row of row group g whose value
// of table column col is null or fails pred. pred runs once per
// dictionary entry when the column chunk is dictionary-encoded.
func matchBytes(pf *files.ParquetFile, g, col int, keep []bool, pred func([]byte) bool) error {
	var memo []int8 // by dictionary entry: 0 unknown, 1 match, 2 not
	return pf.ReadBytes(g, pf.Col[col], func(i int, b []byte, entry int32, null bool) {
		if !keep[i] {
			return
		}
		if null {
			keep[i] = false
			return
		}
		if entry < 0 {
			keep[i] = pred(b)
			return
		}
		if int(entry) >= len(memo) {
			memo = append(memo, make([]int8, int(entry)+1-len(memo))...)
		}
		if memo[entry] == 0 {
			memo[entry] = 2
			if pred(b) {
				memo[entry] = 1
			}
		}
		keep[i] = memo[entry] == 1
	})
}

// selector returns the selectFunc of a resolved query: the rows of its
// courses (see export.SourceQuery), in its time window, whose learner is
// in the learners table (an inner join, as in the SQLite source).
func (s *Source) selector(f *filter) selectFunc {
	return func(pf *files.ParquetFile, g int) ([]int32, []int32, error) {
		n := pf.RowGroupRows(g)
		keep := allKept(n)
		// noCourse marks survey rows without a course: theirs is the
		// courses of the learner's enrollments.
		var noCourse []bool
		var err error
		switch f.table.Name {
		case export.TableLearners:
			err = matchBytes(pf, g, f.learnerCol, keep, func(b []byte) bool { return f.enrolled[string(b)] })
		case export.TableSurveyDemographics:
			noCourse = make([]bool, n)
			err = pf.ReadBytes(g, pf.Col[f.courseCol], func(i int, b []byte, _ int32, null bool) {
				if null {
					noCourse[i] = true
				} else {
					keep[i] = f.courses[string(b)]
				}
			})
		default:
			err = matchBytes(pf, g, f.courseCol, keep, func(b []byte) bool { return f.courses[string(b)] })
		}
		if err != nil {
			return nil, nil, err
		}
		if f.timeCol >= 0 && (!f.from.IsZero() || !f.to.IsZero()) {
			rows := rowsOf(keep)
			c := f.table.Columns[f.timeCol]
			err := pf.ReadValues(g, pf.Col[f.timeCol], rows, func(k int, v any) error {
				t, ok := v.(time.Time)
				if !ok {
					keep[rows[k]] = false // NULL compares false in SQL
					return nil
				}
				t = storedTime(c, t)
				if !f.from.IsZero() && t.Before(f.from) || !f.to.IsZero() && !t.Before(f.to) {
					keep[rows[k]] = false
				}
				return nil
			})
			if err != nil {
				return nil, nil, err
			}
		}
		if f.learnerCol < 0 {
			return rowsOf(keep), nil, nil
		}
		// memo holds the record of each dictionary entry met, +2 (0:
		// not looked up yet, 1: not a learner).
		kept := 0
		for _, k := range keep {
			if k {
				kept++
			}
		}
		rows, facts := make([]int32, 0, kept), make([]int32, 0, kept)
		var memo []int32
		err = pf.ReadBytes(g, pf.Col[f.learnerCol], func(i int, b []byte, entry int32, null bool) {
			if !keep[i] || null {
				return
			}
			if noCourse != nil && noCourse[i] && !f.enrolled[string(b)] {
				return
			}
			var r int32
			if entry < 0 {
				r = s.facts.find(b)
			} else {
				if int(entry) >= len(memo) {
					memo = append(memo, make([]int32, int(entry)+1-len(memo))...)
				}
				if memo[entry] == 0 {
					memo[entry] = s.facts.find(b) + 2
				}
				r = memo[entry] - 2
			}
			if r >= 0 {
				rows = append(rows, int32(i))
				facts = append(facts, r)
			}
		})
		return rows, facts, err
	}
}

// readRows calls fn, in file order and from one goroutine, for every row
// of file that sel selects, with the values of the table columns cols
// (all if nil; the others are nil) and the facts sel found. fn must not
// keep the row slice after it returns (its values it may): the slice is
// reused for a later row.
func (s *Source) readRows(ctx context.Context, file files.File, sel selectFunc, cols []int, fn func(files.Pos, export.Row, export.LearnerFacts) error) error {
	t := file.Table
	if cols == nil {
		cols = make([]int, len(t.Columns))
		for i := range cols {
			cols[i] = i
		}
	}
	type batch struct {
		base  int64
		idx   []int32
		rows  []export.Row
		facts []int32
		win   *window
	}
	// Windows delivered go back to free to be filled again: a scan
	// allocates a few windows, not one per 1,024 rows. (The columns not
	// in cols stay nil: no window ever sets them.)
	width := len(t.Columns)
	free := make(chan *window, 2*runtime.GOMAXPROCS(0)+2)
	getWindow := func() *window {
		select {
		case w := <-free:
			return w
		default:
			return newWindow(width)
		}
	}
	work := func(pf *files.ParquetFile, g int, base int64, emit func(batch) error) error {
		idx, facts, err := sel(pf, g)
		if err != nil || len(idx) == 0 {
			return err
		}
		cursors := make([]*parquet.ColumnCursor, len(cols))
		defer func() {
			for _, c := range cursors {
				if c != nil {
					c.Close()
				}
			}
		}()
		for j, c := range cols {
			if cursors[j], err = pf.OpenColumn(g, pf.Col[c]); err != nil {
				return err
			}
		}
		// The selected rows are read in windows, every column's cursor
		// moving on together: memory holds a window of rows and a page
		// per column, whatever the size of the row group.
		for start := 0; start < len(idx); start += windowRows {
			win := idx[start:min(start+windowRows, len(idx))]
			w := getWindow()
			rows := w.rows[:len(win)]
			for j, c := range cols {
				col := t.Columns[c]
				err := cursors[j].Values(win, func(k int, v any) error {
					if v == nil && !col.Nullable {
						return file.ErrorAt(files.Pos{Row: base + int64(win[k]) + 1}, col.Name, errors.New("missing value for required column"))
					}
					rows[k][c] = v
					return nil
				})
				if err != nil {
					return err
				}
			}
			b := batch{base: base, idx: win, rows: rows, win: w}
			if facts != nil {
				b.facts = facts[start : start+len(win)]
			}
			if err := emit(b); err != nil {
				return err
			}
		}
		return nil
	}
	return forGroups(ctx, file, work, func(_ int, b batch) error {
		for k, row := range b.rows {
			var fa export.LearnerFacts
			if b.facts != nil {
				fa = s.facts.get(b.facts[k])
			}
			if err := fn(files.Pos{Row: b.base + int64(b.idx[k]) + 1}, row, fa); err != nil {
				return err
			}
		}
		select {
		case free <- b.win:
		default:
		}
		return nil
	})
}

// window is the rows readRows reads at once: windowRows rows of a table
// of width columns, in one backing array.
type window struct {
	rows []export.Row
}

func newWindow(width int) *window {
	slab := make([]any, windowRows*width)
	w := &window{rows: make([]export.Row, windowRows)}
	for k := range w.rows {
		w.rows[k] = slab[k*width : (k+1)*width : (k+1)*width]
	}
	return w
}

// windowRows is how many selected rows of a row group readRows reads at
// a time (a variable for the tests).
var windowRows = 1024

// forGroups runs work on every row group of file, on up to GOMAXPROCS
// goroutines, each with its own reader, and calls deliver with what work
// emits, in row group order, from the calling goroutine. A row group's
// work waits while one of its results waits to be delivered, and at most
// as many row groups as there are goroutines are in progress, which
// bounds memory. base is the number of rows before group g.
func forGroups[R any](ctx context.Context, file files.File, work func(pf *files.ParquetFile, g int, base int64, emit func(R) error) error, deliver func(g int, r R) error) error {
	first, err := files.OpenParquet(file)
	if err != nil {
		return err
	}
	n := first.NumRowGroups()
	bases := make([]int64, n)
	for g := 1; g < n; g++ {
		bases[g] = bases[g-1] + int64(first.RowGroupRows(g-1))
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), n))
	readers := []*files.ParquetFile{first}
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	for len(readers) < workers {
		pf, err := files.OpenParquet(file)
		if err != nil {
			return err
		}
		readers = append(readers, pf)
	}
	type part struct {
		r   R
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	results := make([]chan part, n)
	for g := range results {
		results[g] = make(chan part, 1)
	}
	send := func(g int, p part) error {
		select {
		case results[g] <- p:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// A slot is taken before a group is, so the groups holding slots are
	// always the lowest not yet delivered: the one deliver waits for is
	// being worked on.
	slots := make(chan struct{}, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, pf := range readers {
		wg.Go(func() {
			for {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				g := int(next.Add(1) - 1)
				if g >= n {
					<-slots
					return
				}
				err := ctx.Err()
				if err == nil {
					err = safeWork(func() error {
						return work(pf, g, bases[g], func(r R) error { return send(g, part{r: r}) })
					})
				}
				if err != nil {
					if send(g, part{err: err}) != nil {
						return
					}
				}
				close(results[g])
			}
		})
	}
	defer func() {
		cancel() // workers waiting for a slot or to send stop
		wg.Wait()
	}()
	for g := range n {
		for {
			var p part
			var ok bool
			select {
			case p, ok = <-results[g]:
			case <-ctx.Done():
				return ctx.Err()
			}
			if !ok {
				break
			}
			if p.err != nil {
				return p.err
			}
			if err := deliver(g, p.r); err != nil {
				return err
			}
		}
		<-slots
	}
	return nil
}

// safeWork runs work, turning a panic (parquet-go's, on a malformed
// file) into an error: it runs on a goroutine of its own, where a panic
// would end the process.
func safeWork(work func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed file: %v", p)
		}
	}()
	return work()
}

// checkOrder reports whether the rows of the Parquet file are in the
// order of key (table columns), reading only the key columns.
func checkOrder(ctx context.Context, file files.File, key []int) (bool, error) {
	// span is the first and last key of a row group, and whether its
	// rows are in order.
	type span struct {
		first, last []any
		ok          bool
	}
	str := len(key) == 1 && file.Table.Columns[key[0]].Type == export.TypeString
	groupSpan := func(pf *files.ParquetFile, g int) (span, error) {
		n := pf.RowGroupRows(g)
		sp := span{ok: true}
		if n == 0 {
			return sp, nil
		}
		if str {
			// The common case, an id: compare the bytes in place.
			var prev []byte
			prevNull := false
			err := pf.ReadBytes(g, pf.Col[key[0]], func(i int, b []byte, _ int32, null bool) {
				if i == 0 {
					sp.first = []any{valueOf(b, null)}
				} else if sp.ok && (null && !prevNull || !null && !prevNull && bytes.Compare(prev, b) > 0) {
					sp.ok = false
				}
				prev, prevNull = append(prev[:0], b...), null
				if i == n-1 {
					sp.last = []any{valueOf(b, null)}
				}
			})
			return sp, err
		}
		all := make([]int32, n)
		for i := range all {
			all[i] = int32(i)
		}
		vals := make([][]any, len(key))
		for j, c := range key {
			vals[j] = make([]any, n)
			if err := pf.ReadValues(g, pf.Col[c], all, func(k int, v any) error { vals[j][k] = v; return nil }); err != nil {
				return sp, err
			}
		}
		tuple := func(i int) []any {
			t := make([]any, len(key))
			for j := range key {
				t[j] = vals[j][i]
			}
			return t
		}
		for i := 1; i < n && sp.ok; i++ {
			sp.ok = compareTuple(tuple(i-1), tuple(i)) <= 0
		}
		sp.first, sp.last = tuple(0), tuple(n-1)
		return sp, nil
	}
	work := func(pf *files.ParquetFile, g int, _ int64, emit func(span) error) error {
		sp, err := groupSpan(pf, g)
		if err != nil {
			return err
		}
		return emit(sp)
	}
	ordered := true
	var last []any
	err := forGroups(ctx, file, work, func(_ int, sp span) error {
		if !sp.ok || last != nil && sp.first != nil && compareTuple(last, sp.first) > 0 {
			ordered = false
			return errStop
		}
		if sp.last != nil {
			last = sp.last
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return ordered, err
}

func valueOf(b []byte, null bool) any {
	if null {
		return nil
	}
	return string(b)
}

func compareTuple(a, b []any) int {
	for i := range a {
		if c := export.CompareValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}
