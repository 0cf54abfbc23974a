package parquetdir

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

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

// uuidOf returns the canonical (lower-case, hyphenated) text of a
// random UUID drawn from rnd.
func uuidOf(rnd *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rnd.Uint32())
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

// TestFactsTableIDs checks ids of every shape, in several orders: all of
// one length first (then others), UUIDs mixed with other ids, upper-case
// and near-UUIDs, empty, and longer than a chunk; and times that do not
// pack (out of the range of Unix nanoseconds, far birth dates).
func TestFactsTableIDs(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	long := strings.Repeat("x", factsChunkBytes+10)
	var uuids []string
	for range 3000 {
		uuids = append(uuids, uuidOf(rnd))
	}
	others := []string{
		"", "a", "L1", strings.ToUpper(uuids[0]), uuids[1][:35], uuids[2] + "0",
		"1b4e28ba-2fa1-11d2-883f-0016d3cca42g", "1b4e28ba_2fa1_11d2_883f_0016d3cca427",
		long, long + "y", "after-long", strings.Repeat("é", 20000), string([]byte{0, 1, 2}),
	}
	times := []time.Time{
		{}, time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2300, 5, 6, 7, 8, 9, 10, time.UTC), time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Unix(0, 0).UTC(),
		time.Date(2024, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600)),
	}
	births := []time.Time{
		{}, time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-200000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(500000, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC),
	}
	orders := map[string][]string{
		"uuids then others": append(slices.Clone(uuids), others...),
		"others then uuids": append(slices.Clone(others), uuids...),
		"mixed":             append(slices.Clone(uuids[:1000]), append(slices.Clone(others), uuids[1000:]...)...),
		"empty first":       append([]string{""}, uuids[:10]...),
		"long first":        append([]string{long}, uuids[:10]...),
		"only empty":        {""},
	}
	for name, ids := range orders {
		t.Run(name, func(t *testing.T) {
			tab := newFactsTable(len(ids) / 3)
			var want []export.LearnerFacts
			for i, id := range ids {
				fa := export.LearnerFacts{
					LearnerID:        id,
					SignupAt:         time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rnd.Int64N(1e17))),
					BirthDate:        births[i%len(births)],
					OptedOut:         i%2 == 0,
					Deleted:          i%3 == 0,
					SensitiveConsent: i%5 == 0,
				}
				if i%4 == 0 {
					fa.SignupAt = times[i/4%len(times)]
				}
				if ok, err := tab.add(fa); !ok || err != nil {
					t.Fatalf("add %q = %v, %v", fa.LearnerID, ok, err)
				}
				fa.SignupAt = time.Unix(fa.SignupAt.Unix(), int64(fa.SignupAt.Nanosecond())).UTC()
				want = append(want, fa)
			}
			if tab.len() != len(ids) {
				t.Fatalf("len = %d, want %d", tab.len(), len(ids))
			}
			for _, fa := range want {
				r := tab.find([]byte(fa.LearnerID))
				if r < 0 {
					t.Fatalf("find %.40q: not found", fa.LearnerID)
				}
				got := tab.get(r)
				if got != fa {
					t.Fatalf("get(find(%.40q)) = %+v, want %+v", fa.LearnerID, got, fa)
				}
				if got.LearnerID != "" && unsafe.StringData(got.LearnerID) != unsafe.StringData(tab.get(r).LearnerID) {
					t.Errorf("get(%d) returns a different string each call", r)
				}
				if tab.findString(fa.LearnerID) != r {
					t.Fatalf("findString %.40q != find", fa.LearnerID)
				}
				if ok, _ := tab.add(export.LearnerFacts{LearnerID: fa.LearnerID}); ok {
					t.Fatalf("add %.40q twice: not reported", fa.LearnerID)
				}
			}
			for _, id := range []string{strings.ToUpper(uuids[5]), uuids[6][1:], long[1:], "b", "\x00"} {
				if r := tab.findString(id); r >= 0 {
					t.Errorf("find %.40q = %d, want -1", id, r)
				}
			}
			if tab.len() != len(ids) {
				t.Fatalf("len = %d after adding twice, want %d", tab.len(), len(ids))
			}
		})
	}
}

func TestFactsTableTooManyIDs(t *testing.T) {
	defer func(n int) { maxChunks = n }(maxChunks)
	maxChunks = 3
	long := strings.Repeat("x", factsChunkBytes)
	for _, ids := range [][]string{
		{long + "1", long + "2", long + "3", "a"},             // a fourth chunk
		{"a" + long, "b" + long, "c" + long, "d" + long, "e"}, // four chunks, then ids vary
	} {
		tab := newFactsTable(1)
		for i, id := range ids {
			ok, err := tab.add(export.LearnerFacts{LearnerID: id})
			if i < 3 && (!ok || err != nil) {
				t.Fatalf("add id %d = %v, %v", i, ok, err)
			}
			if i == len(ids)-1 && (ok || err == nil) {
				t.Fatalf("add id %d = %v, %v; want an error", i, ok, err)
			}
		}
		if tab.len() != len(ids)-1 {
			t.Errorf("len = %d, want %d", tab.len(), len(ids)-1)
		}
		for i, id := range ids[:len(ids)-1] {
			if r := tab.findString(id); r != int32(i) || tab.get(r).LearnerID != id {
				t.Errorf("find id %d = %d", i, r)
			}
		}
	}
}

func TestFactsTableLookupsDoNotAllocate(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	tab := newFactsTable(10)
	var ids [][]byte
	for i := range 100 {
		id := uuidOf(rnd)
		if i%10 == 0 {
			id = fmt.Sprint("learner-", i)
		}
		tab.add(export.LearnerFacts{LearnerID: id, SignupAt: time.Unix(int64(i), 5).UTC()})
		ids = append(ids, []byte(id))
	}
	allocs := testing.AllocsPerRun(10, func() {
		for _, id := range ids {
			if r := tab.find(id); tab.get(r).LearnerID != string(id) {
				t.Fatalf("get(find(%q)) is another learner", id)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("find and get: %v allocations", allocs)
	}
}

// BenchmarkFactsTable reports the memory a table of 400,000 learners with
// UUID ids takes (MB), and the time of find (ns/op: one find of an
// existing id, in random order) and of get (ns/get, of the records
// found, in the same order).
func BenchmarkFactsTable(b *testing.B) {
	const n = 400_000
	rnd := rand.New(rand.NewPCG(5, 6))
	facts := make([]export.LearnerFacts, n)
	for i := range facts {
		facts[i] = export.LearnerFacts{
			LearnerID: uuidOf(rnd),
			SignupAt:  time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rnd.Int64N(4*365*24*3600)) * time.Microsecond * 1e6).Add(time.Duration(rnd.Int64N(1e6)) * time.Microsecond),
			OptedOut:  i%10 == 0,
		}
		if i%4 != 0 {
			facts[i].BirthDate = time.Date(1950+rnd.IntN(60), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rnd.IntN(365))
		}
	}
	ids := make([][]byte, n)
	for i, k := range rnd.Perm(n) {
		ids[i] = []byte(facts[k].LearnerID)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tab := newFactsTable(n)
	for _, fa := range facts {
		if ok, err := tab.add(fa); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(facts)
	b.ResetTimer()
	var sum int64
	for i := 0; b.Loop(); i++ {
		sum += int64(tab.find(ids[i%n]))
	}
	b.StopTimer()
	recs := make([]int32, n)
	for i, id := range ids {
		recs[i] = tab.find(id)
	}
	start := time.Now()
	var signups int64
	for _, r := range recs {
		signups += tab.get(r).SignupAt.Unix()
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/n, "ns/get")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "MB")
	runtime.KeepAlive(tab)
	if sum < 0 || signups == 0 {
		b.Fatal("lost learners")
	}
}
