package parquetdir

import (
	"fmt"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
)

func TestFactsTable(t *testing.T) {
	tab := newFactsTable(100) // grows the index several times
	want := map[string]export.LearnerFacts{}
	const n = 5000 // fills several chunks
	for i := range n {
		fa := export.LearnerFacts{
			LearnerID:        fmt.Sprintf("learner-%06d-%s", i, string(make([]byte, i%40))),
			SignupAt:         time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 1234567891 * time.Nanosecond),
			OptedOut:         i%3 == 0,
			Deleted:          i%5 == 0,
			SensitiveConsent: i%7 == 0,
		}
		if i%4 != 0 {
			fa.BirthDate = time.Date(1950+i%60, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
		}
		if i == 17 {
			fa.LearnerID = ""
		}
		if ok, err := tab.add(fa); !ok || err != nil {
			t.Fatalf("add %q = %v, %v", fa.LearnerID, ok, err)
		}
		want[fa.LearnerID] = fa
	}
	if tab.len() != n {
		t.Fatalf("len = %d, want %d", tab.len(), n)
	}
	for id, fa := range want {
		r := tab.find([]byte(id))
		if r < 0 {
			t.Fatalf("find %q: not found", id)
		}
		if got := tab.get(r); got != fa {
			t.Fatalf("get(find(%q)) = %+v, want %+v", id, got, fa)
		}
		if tab.findString(id) != r {
			t.Fatalf("findString %q != find", id)
		}
		if ok, _ := tab.add(export.LearnerFacts{LearnerID: id}); ok {
			t.Fatalf("add %q twice: not reported", id)
		}
	}
	for _, id := range []string{"learner-", "learner-000001", "nobody"} {
		if r := tab.find([]byte(id)); r >= 0 {
			t.Errorf("find %q = %d, want -1", id, r)
		}
	}
}

func TestFactsTableRejectsTimeOfBirth(t *testing.T) {
	tab := newFactsTable(1)
	for _, bd := range []time.Time{
		time.Date(1990, 5, 1, 12, 0, 0, 0, time.UTC),
		time.Date(1990, 5, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999999, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if ok, err := tab.add(export.LearnerFacts{LearnerID: "a", BirthDate: bd}); ok || err == nil {
			t.Errorf("add with birth date %v = %v, %v; want an error", bd, ok, err)
		}
	}
	if tab.len() != 0 {
		t.Errorf("len = %d after rejected adds", tab.len())
	}
}
