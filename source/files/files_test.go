package files

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rexport/rexport/export"
)

// allTypes has a column of every type, required and nullable.
var allTypes = export.Table{
	Name: "all_types",
	Key:  []string{"s"},
	Columns: []export.Column{
		{Name: "s", Type: export.TypeString},
		{Name: "i", Type: export.TypeInt64},
		{Name: "f", Type: export.TypeFloat64},
		{Name: "b", Type: export.TypeBool},
		{Name: "d", Type: export.TypeDate},
		{Name: "ts", Type: export.TypeTimestamp},
		{Name: "ns", Type: export.TypeString, Nullable: true},
		{Name: "ni", Type: export.TypeInt64, Nullable: true},
	},
}

var allRows = []export.Row{
	{"a, \"quoted\"\nmulti-line", int64(-7), 0.1, true, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 6, 9, 30, 0, 0, time.UTC), "Nguyễn", int64(1) << 60},
	{"b", int64(0), 1e-300, false, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), nil, nil},
}

func readAll(t *testing.T, f File, in []byte) ([]Pos, []export.Row, error) {
	t.Helper()
	var pos []Pos
	var rows []export.Row
	err := ReadCSV(context.Background(), f, bytes.NewReader(in), func(p Pos, r export.Row) error {
		pos = append(pos, p)
		rows = append(rows, r)
		return nil
	})
	return pos, rows, err
}

func TestCSVRoundTrip(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := NewCSVWriter(&buf, allTypes)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range allRows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pos, rows, err := readAll(t, File{Table: allTypes, Path: "all_types.csv"}, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(allRows, rows); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
	// The first record spans lines 2 and 3.
	if diff := cmp.Diff([]Pos{{Line: 2}, {Line: 4}}, pos); diff != "" {
		t.Errorf("positions mismatch (-want +got):\n%s", diff)
	}
}

func TestParquetRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := Create(dir, allTypes, Parquet)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range allRows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var rows []export.Row
	var pos []Pos
	f := File{Table: allTypes, Path: filepath.Join(dir, "all_types.parquet"), Format: Parquet}
	if err := Read(context.Background(), f, func(p Pos, r export.Row) error {
		pos = append(pos, p)
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(allRows, rows); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Pos{{Row: 1}, {Row: 2}}, pos); diff != "" {
		t.Errorf("positions mismatch (-want +got):\n%s", diff)
	}
}

func TestParquetColumnsChecked(t *testing.T) {
	t.Parallel()
	courses, _ := export.SourceTable(export.TableCourses)
	write := func(t *testing.T, cols []export.Column) File {
		dir := t.TempDir()
		w, err := Create(dir, export.Table{Name: "courses", Columns: cols}, Parquet)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return File{Table: courses, Path: filepath.Join(dir, "courses.parquet"), Format: Parquet}
	}
	tests := []struct {
		name string
		cols []export.Column
		want string
	}{
		{"UnknownColumn", append(append([]export.Column(nil), courses.Columns...), export.Column{Name: "extra", Type: export.TypeString}), "courses.parquet: column extra: unknown column"},
		{"MissingRequired", courses.Columns[:4], "courses.parquet: column start_date: missing column"},
		{"WrongType", append(append([]export.Column(nil), courses.Columns[:4]...), export.Column{Name: "start_date", Type: export.TypeString}), "courses.parquet: column start_date: column type is string, want date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Read(context.Background(), write(t, tt.cols), func(Pos, export.Row) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	t.Parallel()
	f := File{Table: allTypes, Path: "all_types.csv"}
	const header = "s,i,f,b,d,ts,ns,ni\n"
	tests := []struct {
		name, in, want string
	}{
		{"Empty", "", "all_types.csv: line 1: missing header row"},
		{"UnknownColumn", "s,i,f,b,d,ts,zz\n", "all_types.csv: line 1: column zz: unknown column"},
		{"DuplicateColumn", "s,i,f,b,d,ts,s\n", "all_types.csv: line 1: column s: column given twice"},
		{"MissingRequiredColumn", "s,i,f,b,d\n", "all_types.csv: line 1: column ts: missing column"},
		{"RequiredEmpty", header + "a,1,1,true,2024-01-01,2024-01-01T00:00:00Z,,\n,1,1,true,2024-01-01,2024-01-01T00:00:00Z,,\n", "all_types.csv: line 3: column s: missing value for required column"},
		{"BadInt", header + "a,1.5,1,true,2024-01-01,2024-01-01T00:00:00Z,,\n", "line 2: column i: not an integer"},
		{"BadFloat", header + "a,1,NaN,true,2024-01-01,2024-01-01T00:00:00Z,,\n", "line 2: column f: not a finite number"},
		{"BadBool", header + "a,1,1,yes,2024-01-01,2024-01-01T00:00:00Z,,\n", "line 2: column b: not a boolean"},
		{"BadDate", header + "a,1,1,1,2024-02-30,2024-01-01T00:00:00Z,,\n", "line 2: column d: not a date"},
		{"BadTimestamp", header + "a,1,1,0,2024-02-01,2024-01-01 00:00:00,,\n", "line 2: column ts: not an RFC 3339 timestamp"},
		{"FieldCount", header + "\"x\ny\",1,1,0,2024-02-01,2024-01-01T00:00:00Z,,,\n", "line 2: wrong number of fields: 9, the header has 8"},
		{"BareQuote", header + "a\"b,1,1,0,2024-02-01,2024-01-01T00:00:00Z,,\n", "line 2: malformed CSV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, f, []byte(tt.in))
			var fe *Error
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want *Error containing %q", err, tt.want)
			}
		})
	}
	t.Run("NullableColumnsMayNotBeLeftOut", func(t *testing.T) {
		// A file without, say, deleted_at would switch off an exclusion.
		_, _, err := readAll(t, f, []byte("ts,s,i,f,b,d\n2024-01-01T01:00:00+01:00,a,1,2,TRUE,2024-01-01\n"))
		if err == nil || !strings.Contains(err.Error(), "missing column") {
			t.Errorf("err = %v, want a missing column", err)
		}
	})
	t.Run("ErrorsDoNotQuoteValues", func(t *testing.T) {
		_, _, err := readAll(t, f, []byte(header+"a,1,1,1,2024-01-01,maria.lopez@example.com,,\n"))
		if err == nil || strings.Contains(err.Error(), "maria") {
			t.Errorf("err = %v, want one that does not quote the value", err)
		}
	})
	t.Run("HeaderOrderBOMAndEmptyNulls", func(t *testing.T) {
		_, rows, err := readAll(t, f, []byte("\ufeffts,s,i,f,b,d,ns,ni\n2024-01-01T01:00:00+01:00,a,1,2,TRUE,2024-01-01,,\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := []export.Row{{"a", int64(1), 2.0, true, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), nil, nil}}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("rows mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestFormatValueRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		c export.Column
		v any
	}{
		{allTypes.Columns[0], ""},
		{allTypes.Columns[6], ""},
		{allTypes.Columns[0], nil},
		{allTypes.Columns[1], 1},
		{allTypes.Columns[5], "2024-01-01"},
	} {
		if _, err := FormatValue(tt.c, tt.v); err == nil {
			t.Errorf("FormatValue(%s, %#v) succeeded", tt.c.Name, tt.v)
		}
	}
}

func TestReadDir(t *testing.T) {
	t.Parallel()
	mk := func(t *testing.T, names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	t.Run("LoadOrder", func(t *testing.T) {
		got, err := ReadDir(mk(t, "grades.parquet", "courses.csv", ".DS_Store", "learners.csv"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range got {
			names = append(names, f.Name())
		}
		if diff := cmp.Diff([]string{"courses.csv", "learners.csv", "grades.parquet"}, names); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
	for name, files := range map[string][]string{
		"UnknownTable":  {"courses.csv", "users.csv"},
		"UnknownFormat": {"courses.json"},
		"BothFormats":   {"courses.csv", "courses.parquet"},
		"Empty":         nil,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadDir(mk(t, files...)); err == nil {
				t.Error("no error")
			}
		})
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add("s,i,f,b,d,ts,ns,ni\na,1,1.5,true,2024-01-01,2024-01-01T00:00:00Z,x,2\n")
	f.Add("s,ts\n\"a\nb\",2024-01-01T00:00:00+02:00\n")
	f.Add("\ufeffs,i\n\"unterminated\n")
	f.Add("s,i,f,b,d,ts\n,,,,,\n")
	file := File{Table: allTypes, Path: "all_types.csv"}
	f.Fuzz(func(t *testing.T, in string) {
		var buf bytes.Buffer
		w, err := NewCSVWriter(&buf, allTypes)
		if err != nil {
			t.Fatal(err)
		}
		// Whatever reads must write and read back the same.
		var rows []export.Row
		err = ReadCSV(context.Background(), file, strings.NewReader(in), func(_ Pos, r export.Row) error {
			rows = append(rows, r)
			return nil
		})
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				return // e.g. a nullable empty string: cannot round-trip by design
			}
		}
		w.Close()
		_, again, err := readAll(t, file, buf.Bytes())
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if len(rows) > 0 {
			if diff := cmp.Diff(rows, again); diff != "" {
				t.Errorf("round trip mismatch (-first +second):\n%s", diff)
			}
		}
	})
}
