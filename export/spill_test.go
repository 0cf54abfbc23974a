package export

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRowSpill: rows read back as written, every value type, the
// columns not kept as nil; the file is gone after close.
func TestRowSpill(t *testing.T) {
	dir := t.TempDir()
	keep := []bool{true, true, false, true, true, true, true}
	zone := time.FixedZone("", -5*3600)
	rows := []Row{
		{"a", int64(-1), "qi", 1.5, true, time.Date(2024, 5, 1, 8, 30, 0, 123456789, time.UTC), nil},
		{"", int64(1 << 62), nil, -0.0, false, time.Date(2024, 5, 1, 0, 0, 0, 0, zone), strings.Repeat("é", 300)},
		{nil, nil, "x", nil, nil, nil, "last"},
	}
	s, err := newRowSpill(dir, "t", keep)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := s.add(r); err != nil {
			t.Fatal(err)
		}
	}
	var got []Row
	if err := s.each(func(r Row) error { got = append(got, append(Row(nil), r...)); return nil }); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		want := append(Row(nil), r...)
		want[2] = nil // not kept
		if diff := cmp.Diff(want, got[i], cmp.Comparer(func(a, b time.Time) bool {
			_, oa := a.Zone()
			_, ob := b.Zone()
			return a.Equal(b) && oa == ob
		})); diff != "" {
			t.Errorf("row %d (-want +got):\n%s", i, diff)
		}
	}
	// A date keeps its day in its zone.
	if y, m, d := got[1][5].(time.Time).Date(); y != 2024 || m != 5 || d != 1 {
		t.Errorf("date read back as %d-%d-%d", y, m, d)
	}
	name := s.f.Name()
	if !strings.HasPrefix(name, dir) {
		t.Errorf("spill file %s not in %s", name, dir)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left after close: %v", entries)
	}
}

// TestRowSpillLeftByCrash: a spill file is a temporary file RemoveTemp
// deletes, and a truncated one reads back as an error.
func TestRowSpillLeftByCrash(t *testing.T) {
	dir := t.TempDir()
	s, err := newRowSpill(dir, "t", []bool{true})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.add(Row{"some text"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.f.Truncate(15); err != nil {
		t.Fatal(err)
	}
	s.w.Reset(s.f)
	if err := s.each(func(Row) error { return nil }); err == nil {
		t.Error("a truncated spill read back without an error")
	}
	s.f.Close() // as a crash would leave it
	if err := RemoveTemp(dir); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("RemoveTemp left %v", entries)
	}
}
