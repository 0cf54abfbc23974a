package deidentify

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// applyStep is the published form of v at a step, written the obvious way.
func applyStep(s Step, v string) string {
	if v == "" {
		return ""
	}
	return s.Apply(v)
}

// classKey is an unambiguous key for a tuple of values.
func classKey(vals []string) string {
	var sb strings.Builder
	for _, v := range vals {
		sb.WriteString(strconv.Quote(v))
		sb.WriteByte(',')
	}
	return sb.String()
}

// naiveSuppressed returns, for the combination steps, the number of people
// with a record in a class of fewer than k people and, per record, whether
// its class is that small.
func naiveSuppressed(records []KAnonRecord, cfg KAnonConfig, steps []int) (int, []bool) {
	keys := make([]string, len(records))
	members := make(map[string]map[string]bool)
	for i, r := range records {
		gen := make([]string, len(r.QI))
		for q, v := range r.QI {
			gen[q] = applyStep(cfg.QIs[q].Steps[steps[q]], v)
		}
		keys[i] = classKey(gen)
		if members[keys[i]] == nil {
			members[keys[i]] = make(map[string]bool)
		}
		members[keys[i]][r.Person] = true
	}
	small := make([]bool, len(records))
	people := make(map[string]bool)
	for i, r := range records {
		if len(members[keys[i]]) < cfg.K {
			small[i] = true
			people[r.Person] = true
		}
	}
	return len(people), small
}

// bruteForceSteps returns the best combination by trying all of them and
// comparing (suppressed people, total steps, steps lexicographically).
func bruteForceSteps(records []KAnonRecord, cfg KAnonConfig) []int {
	var best []int
	bestSupp, bestSum := -1, -1
	var try func(steps []int)
	try = func(steps []int) {
		if len(steps) < len(cfg.QIs) {
			for s := range cfg.QIs[len(steps)].Steps {
				try(append(slices.Clone(steps), s))
			}
			return
		}
		supp, _ := naiveSuppressed(records, cfg, steps)
		sum := 0
		for _, s := range steps {
			sum += s
		}
		better := best == nil || supp < bestSupp ||
			supp == bestSupp && (sum < bestSum || sum == bestSum && slices.Compare(steps, best) < 0)
		if better {
			best, bestSupp, bestSum = steps, supp, sum
		}
	}
	try(nil)
	return best
}

// checkKAnon checks every promise of KAnonymize about res, recomputing the
// report independently from in.
func checkKAnon(t *testing.T, in []KAnonRecord, cfg KAnonConfig, res *KAnonResult) {
	t.Helper()
	if len(res.Records) != len(in) || len(res.Suppressed) != len(in) {
		t.Fatalf("got %d records, %d suppressed flags; want %d", len(res.Records), len(res.Suppressed), len(in))
	}
	if want := bruteForceSteps(in, cfg); !slices.Equal(res.Steps, want) {
		t.Fatalf("steps = %v, want %v (brute force)", res.Steps, want)
	}
	_, wantSupp := naiveSuppressed(in, cfg, res.Steps)
	if !slices.Equal(res.Suppressed, wantSupp) {
		t.Fatalf("suppressed mismatch:\n got %v\nwant %v", res.Suppressed, wantSupp)
	}

	rep := RiskReport{
		K: cfg.K, L: cfg.L, Records: len(in),
		Ladder:              map[string]string{},
		ClassSizeHistogram:  map[string]int{},
		GeneralisedPeople:   map[string]int{},
		SuppressedPeople:    map[string]int{},
		SensitiveSuppressed: map[string]int{},
	}
	people := map[string]bool{}
	for _, r := range in {
		people[r.Person] = true
	}
	rep.People = len(people)
	for q, qi := range cfg.QIs {
		rep.Ladder[qi.Name] = qi.Steps[res.Steps[q]].Name
		gen, supp := map[string]bool{}, map[string]bool{}
		for i, r := range in {
			orig, pub := r.QI[q], res.Records[i].QI[q]
			switch {
			case res.Suppressed[i] && pub != "":
				t.Fatalf("record %d is suppressed but publishes %s = %q", i, qi.Name, pub)
			case !res.Suppressed[i] && pub != applyStep(qi.Steps[res.Steps[q]], orig):
				t.Fatalf("record %d publishes %s = %q, want step %d of %q", i, qi.Name, pub, res.Steps[q], orig)
			case orig != "" && res.Suppressed[i]:
				supp[r.Person] = true
			case orig != "" && pub != orig:
				gen[r.Person] = true
			}
		}
		rep.GeneralisedPeople[qi.Name] = len(gen)
		rep.SuppressedPeople[qi.Name] = len(supp)
	}

	// Classes of the published, non-suppressed records.
	classOf := make([]string, len(in))
	members := map[string]map[string]bool{}
	records := map[string][]int{}
	for i, r := range res.Records {
		if r.Person != in[i].Person {
			t.Fatalf("record %d: person changed", i)
		}
		if res.Suppressed[i] {
			continue
		}
		classOf[i] = classKey(r.QI)
		if members[classOf[i]] == nil {
			members[classOf[i]] = map[string]bool{}
		}
		members[classOf[i]][r.Person] = true
		records[classOf[i]] = append(records[classOf[i]], i)
	}
	published, below := 0, 0
	for key, m := range members {
		if len(m) < cfg.K {
			t.Fatalf("class %s has %d people, want at least %d", key, len(m), cfg.K)
		}
		if rep.KAchieved == 0 || len(m) < rep.KAchieved {
			rep.KAchieved = len(m)
		}
		rep.ClassSizeHistogram[strconv.Itoa(len(m))]++
		published += len(records[key])
		if len(m) < 2*cfg.K {
			below += len(records[key])
		}
	}
	if published > 0 {
		rep.ShareRecordsBelow2K = float64(below) / float64(published)
	}

	// l-diversity, judged on the input's sensitive values.
	violated := map[string]bool{}
	for j, name := range cfg.Sensitive {
		rep.SensitiveSuppressed[name] = 0
		for key, idx := range records {
			distinct := map[string]bool{}
			for _, i := range idx {
				if v := in[i].Sensitive[j]; v != "" {
					distinct[v] = true
				}
			}
			bad := cfg.L > 0 && len(distinct) > 0 && len(distinct) < cfg.L
			if bad {
				violated[key] = true
			}
			after := map[string]bool{}
			for _, i := range idx {
				got, orig := res.Records[i].Sensitive[j], in[i].Sensitive[j]
				switch {
				case bad && got != "":
					t.Fatalf("record %d: %s = %q survives in a class with %d distinct values", i, name, got, len(distinct))
				case !bad && got != orig:
					t.Fatalf("record %d: %s = %q, want the original %q", i, name, got, orig)
				case bad && orig != "":
					rep.SensitiveSuppressed[name]++
				}
				if got != "" {
					after[got] = true
				}
			}
			if cfg.L > 0 && len(after) > 0 && len(after) < cfg.L {
				t.Fatalf("class %s: %s has %d distinct values after, want 0 or at least %d", key, name, len(after), cfg.L)
			}
		}
	}
	for i := range in {
		if !res.Suppressed[i] {
			continue
		}
		for j, name := range cfg.Sensitive {
			if got := res.Records[i].Sensitive[j]; got != "" {
				t.Fatalf("record %d is suppressed but publishes %s = %q", i, name, got)
			}
			if in[i].Sensitive[j] != "" {
				rep.SensitiveSuppressed[name]++
			}
		}
	}
	rep.LDiversityViolations = len(violated)

	if !reflect.DeepEqual(res.Report, rep) {
		t.Fatalf("report mismatch:\n got %+v\nwant %+v", res.Report, rep)
	}
}

// letterLadder generalises "a1" to "a" and then to "*".
func letterLadder() []Step {
	return []Step{
		{Name: "exact", Apply: identity},
		{Name: "letter", Apply: func(v string) string { return v[:1] }},
		{Name: "any", Apply: func(string) string { return "*" }},
	}
}

func rec(person string, qi ...string) KAnonRecord { return KAnonRecord{Person: person, QI: qi} }

func TestKAnonymize(t *testing.T) {
	t.Parallel()
	twoQIs := []QI{{Name: "x", Steps: letterLadder()}, {Name: "y", Steps: letterLadder()}}
	tests := []struct {
		name           string
		cfg            KAnonConfig
		in             []KAnonRecord
		wantSteps      []int
		wantSuppressed []bool
		wantQI         [][]string
	}{
		{
			name:      "AlreadyKAnonymous",
			cfg:       KAnonConfig{K: 2, QIs: twoQIs},
			in:        []KAnonRecord{rec("p1", "a1", "b1"), rec("p2", "a1", "b1"), rec("p3", "c1", "b2"), rec("p4", "c1", "b2")},
			wantSteps: []int{0, 0}, wantSuppressed: []bool{false, false, false, false},
			wantQI: [][]string{{"a1", "b1"}, {"a1", "b1"}, {"c1", "b2"}, {"c1", "b2"}},
		},
		{
			name: "GeneraliseCountryToRegion",
			cfg:  KAnonConfig{K: 2, QIs: []QI{{Name: "country", Steps: CountryLadder()}}},
			in:   []KAnonRecord{rec("p1", "SE"), rec("p2", "no"), rec("p3", "DK"), rec("p4", "FI")},
			// "continent" would also do, but "region" is less general.
			wantSteps: []int{1}, wantSuppressed: []bool{false, false, false, false},
			wantQI: [][]string{{"Northern Europe"}, {"Northern Europe"}, {"Northern Europe"}, {"Northern Europe"}},
		},
		{
			name: "SuppressOutlierRatherThanGeneralise",
			cfg:  KAnonConfig{K: 2, QIs: []QI{{Name: "country", Steps: CountryLadder()}}},
			in:   []KAnonRecord{rec("p1", "SE"), rec("p2", "SE"), rec("p3", "NG")},
			// Even the continent leaves NG alone, so generalising buys nothing.
			wantSteps: []int{0}, wantSuppressed: []bool{false, false, true},
			wantQI: [][]string{{"SE"}, {"SE"}, {""}},
		},
		{
			name:      "UnknownCountryIsNullAtCoarserSteps",
			cfg:       KAnonConfig{K: 2, QIs: []QI{{Name: "country", Steps: CountryLadder()}, {Name: "g", Steps: IdentityLadder()}}},
			in:        []KAnonRecord{rec("p1", "ZZ", "f"), rec("p2", "", "f"), rec("p3", "SE", "m"), rec("p4", "NO", "m")},
			wantSteps: []int{1, 0}, wantSuppressed: []bool{false, false, false, false},
			wantQI: [][]string{{"", "f"}, {"", "f"}, {"Northern Europe", "m"}, {"Northern Europe", "m"}},
		},
		{
			name: "PersonCountsOnceInAClass",
			cfg:  KAnonConfig{K: 2, QIs: twoQIs[:1]},
			in:   []KAnonRecord{rec("p1", "a1"), rec("p1", "a1"), rec("p2", "b1"), rec("p3", "b1")},
			// Generalising to "any" would save p1, but at step 0 p1 is alone.
			wantSteps: []int{2}, wantSuppressed: []bool{false, false, false, false},
			wantQI: [][]string{{"*"}, {"*"}, {"*"}, {"*"}},
		},
		{
			name:      "PersonCountsInEachOfItsClasses",
			cfg:       KAnonConfig{K: 2, QIs: twoQIs[:1]},
			in:        []KAnonRecord{rec("p1", "a1"), rec("p1", "a2"), rec("p2", "a1"), rec("p3", "a2")},
			wantSteps: []int{0}, wantSuppressed: []bool{false, false, false, false},
			wantQI: [][]string{{"a1"}, {"a2"}, {"a1"}, {"a2"}},
		},
		{
			name: "PersonInSmallAndLargeClass",
			cfg:  KAnonConfig{K: 2, QIs: []QI{{Name: "x", Steps: IdentityLadder()}}},
			in:   []KAnonRecord{rec("p1", "a1"), rec("p1", "b1"), rec("p2", "a1")},
			// Only p1's record in the class of one is suppressed.
			wantSteps: []int{0}, wantSuppressed: []bool{false, true, false},
			wantQI: [][]string{{"a1"}, {""}, {"a1"}},
		},
		{
			name: "TieBreakLeastTotalGeneralisation",
			cfg:  KAnonConfig{K: 2, QIs: twoQIs},
			// Step 1 on y alone suffices; (1,1) or (0,2) suppress nobody either.
			in:        []KAnonRecord{rec("p1", "a1", "b1"), rec("p2", "a1", "b2"), rec("p3", "c1", "d1"), rec("p4", "c1", "d2")},
			wantSteps: []int{0, 1}, wantSuppressed: []bool{false, false, false, false},
			wantQI: [][]string{{"a1", "b"}, {"a1", "b"}, {"c1", "d"}, {"c1", "d"}},
		},
		{
			name: "TieBreakEarlierQILessGeneralised",
			cfg:  KAnonConfig{K: 2, QIs: twoQIs},
			// Either (1,0) or (0,1) suppresses nobody; keep x exact.
			in:        []KAnonRecord{rec("p1", "a1", "b1"), rec("p2", "a2", "b1"), rec("p3", "a1", "b2"), rec("p4", "a2", "b2")},
			wantSteps: []int{0, 1}, wantSuppressed: []bool{false, false, false, false},
			wantQI: [][]string{{"a1", "b"}, {"a2", "b"}, {"a1", "b"}, {"a2", "b"}},
		},
		{
			name:      "AllNullIsAClass",
			cfg:       KAnonConfig{K: 2, QIs: twoQIs},
			in:        []KAnonRecord{rec("p1", "", ""), rec("p2", "", ""), rec("p3", "a1", "b1"), rec("p4", "a1", "b1")},
			wantSteps: []int{0, 0}, wantSuppressed: []bool{false, false, false, false},
			wantQI: [][]string{{"", ""}, {"", ""}, {"a1", "b1"}, {"a1", "b1"}},
		},
		{
			name:      "KOneChangesNothing",
			cfg:       KAnonConfig{K: 1, QIs: twoQIs},
			in:        []KAnonRecord{rec("p1", "a1", "b1"), rec("p2", "a2", "b2")},
			wantSteps: []int{0, 0}, wantSuppressed: []bool{false, false},
			wantQI: [][]string{{"a1", "b1"}, {"a2", "b2"}},
		},
		{
			name:      "NoQuasiIdentifiers",
			cfg:       KAnonConfig{K: 3},
			in:        []KAnonRecord{rec("p1"), rec("p2"), rec("p2")},
			wantSteps: []int{}, wantSuppressed: []bool{true, true, true},
			wantQI: [][]string{{}, {}, {}},
		},
		{
			name:      "NoRecords",
			cfg:       KAnonConfig{K: 5, QIs: twoQIs},
			wantSteps: []int{0, 0}, wantSuppressed: []bool{},
			wantQI: [][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := KAnonymize(tt.in, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Steps, tt.wantSteps) {
				t.Errorf("steps = %v, want %v", res.Steps, tt.wantSteps)
			}
			if !slices.Equal(res.Suppressed, tt.wantSuppressed) {
				t.Errorf("suppressed = %v, want %v", res.Suppressed, tt.wantSuppressed)
			}
			got := make([][]string, len(res.Records))
			for i, r := range res.Records {
				got[i] = r.QI
			}
			if !reflect.DeepEqual(got, tt.wantQI) {
				t.Errorf("QI values mismatch:\n got %q\nwant %q", got, tt.wantQI)
			}
			checkKAnon(t, tt.in, tt.cfg, res)
		})
	}
}

func TestKAnonymizeReport(t *testing.T) {
	t.Parallel()
	in := []KAnonRecord{
		{Person: "p1", QI: []string{"SE", "20-24"}, Sensitive: []string{"yes", "x"}},
		{Person: "p1", QI: []string{"SE", "20-24"}, Sensitive: []string{"no", "x"}},
		{Person: "p2", QI: []string{"NO", "25-29"}, Sensitive: []string{"yes", ""}},
		{Person: "p3", QI: []string{"DK", "20-24"}, Sensitive: []string{"yes", "y"}},
		{Person: "p4", QI: []string{"NG", "30-34"}, Sensitive: []string{"no", "z"}},
		{Person: "p5", QI: []string{"GH", "35-39"}, Sensitive: []string{"no", "z"}},
		{Person: "p6", QI: []string{"JP", "40-44"}, Sensitive: []string{"", ""}},
	}
	cfg := KAnonConfig{
		K: 2, L: 2,
		QIs:       []QI{{Name: "country", Steps: CountryLadder()}, {Name: "age", Steps: AgeBandLadder()}},
		Sensitive: []string{"disability", "religion"},
	}
	res, err := KAnonymize(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkKAnon(t, in, cfg, res)
	want := RiskReport{
		K: 2, L: 2, KAchieved: 2, People: 6, Records: 7,
		Ladder: map[string]string{"country": "region", "age": "10-year"},
		// Northern Europe 20-29 (p1, p2, p3) and Western Africa 30-39 (p4, p5).
		ClassSizeHistogram:   map[string]int{"3": 1, "2": 1},
		GeneralisedPeople:    map[string]int{"country": 5, "age": 5},
		SuppressedPeople:     map[string]int{"country": 1, "age": 1},
		ShareRecordsBelow2K:  1,
		LDiversityViolations: 1, // Western Africa: disability "no" only, religion "z" only
		SensitiveSuppressed:  map[string]int{"disability": 2, "religion": 2},
	}
	if !reflect.DeepEqual(res.Report, want) {
		t.Errorf("report mismatch:\n got %+v\nwant %+v", res.Report, want)
	}
	// The input is untouched.
	if in[4].Sensitive[0] != "no" || in[0].QI[0] != "SE" {
		t.Errorf("KAnonymize modified its input: %+v", in)
	}

	b, err := json.Marshal(res.Report)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"class_size_histogram", "generalised_people", "k", "k_achieved", "l", "l_diversity_violations",
		"ladder", "people", "records", "sensitive_suppressed", "share_records_below_2k", "suppressed_people"}
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, wantKeys) {
		t.Errorf("JSON keys = %v, want %v", got, wantKeys)
	}
}

func TestKAnonymizeErrors(t *testing.T) {
	t.Parallel()
	qis := []QI{{Name: "x", Steps: letterLadder()}}
	ok := []KAnonRecord{rec("p1", "a1"), rec("p2", "a1")}
	tests := []struct {
		name    string
		cfg     KAnonConfig
		in      []KAnonRecord
		wantErr string
	}{
		{"KZero", KAnonConfig{K: 0, QIs: qis}, ok, "k must be at least 1"},
		{"KNegative", KAnonConfig{K: -3, QIs: qis}, ok, "k must be at least 1"},
		{"LNegative", KAnonConfig{K: 2, L: -1, QIs: qis}, ok, "l must not be negative"},
		{"TooFewValues", KAnonConfig{K: 2, QIs: qis}, []KAnonRecord{rec("p1", "a1"), rec("p2", "a1"), rec("p3")}, "record 2: has 0 quasi-identifier values, want 1"},
		{"TooManyValues", KAnonConfig{K: 2, QIs: qis}, []KAnonRecord{rec("p1", "a1", "secret")}, "record 0: has 2 quasi-identifier values"},
		{"SensitiveCount", KAnonConfig{K: 2, QIs: qis, Sensitive: []string{"s"}}, ok, "record 0: has 0 sensitive values, want 1"},
		{"NoPerson", KAnonConfig{K: 2, QIs: qis}, []KAnonRecord{rec("p1", "a1"), rec("", "a1")}, "record 1: person is empty"},
		{"NoName", KAnonConfig{K: 2, QIs: []QI{{Steps: IdentityLadder()}}}, nil, "quasi-identifier 0 has no name"},
		{"NoSteps", KAnonConfig{K: 2, QIs: []QI{{Name: "x"}}}, nil, `"x" has no steps`},
		{"NilApply", KAnonConfig{K: 2, QIs: []QI{{Name: "x", Steps: []Step{{Name: "raw"}}}}}, nil, `step 0 ("raw") has no Apply`},
		{"DuplicateQI", KAnonConfig{K: 2, QIs: []QI{qis[0], qis[0]}}, nil, `column "x" is listed twice`},
		{"SensitiveIsQI", KAnonConfig{K: 2, QIs: qis, Sensitive: []string{"x"}}, nil, `column "x" is listed twice`},
		{"SensitiveNoName", KAnonConfig{K: 2, QIs: qis, Sensitive: []string{""}}, nil, "sensitive column 0 has no name"},
		{"TooManyCombinations", KAnonConfig{K: 2, QIs: []QI{
			{Name: "a", Steps: letterLadder()}, {Name: "b", Steps: letterLadder()}, {Name: "c", Steps: letterLadder()},
			{Name: "d", Steps: letterLadder()}, {Name: "e", Steps: letterLadder()}, {Name: "f", Steps: letterLadder()},
			{Name: "g", Steps: letterLadder()}, {Name: "h", Steps: letterLadder()},
		}}, nil, "more than 4096 combinations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := KAnonymize(tt.in, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("KAnonymize: got %v, %v; want an error containing %q", res, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "p1") {
				t.Errorf("error %q repeats a value", err)
			}
		})
	}
}

// randomKAnonInput returns a small random table whose ladders and sizes
// are drawn from r: enough collisions to make the search non-trivial.
func randomKAnonInput(r *rand.Rand) ([]KAnonRecord, KAnonConfig) {
	values := []string{"", "a1", "a2", "a3", "b1", "b2", "c1", "d1"}
	nq := r.IntN(4)
	cfg := KAnonConfig{K: 1 + r.IntN(5), L: r.IntN(4)}
	for q := range nq {
		steps := letterLadder()[:1+r.IntN(3)]
		if r.IntN(4) == 0 {
			// A step that nulls some values.
			steps = append(steps[:1], Step{Name: "nullb", Apply: func(v string) string {
				if v[0] == 'b' {
					return ""
				}
				return v
			}})
		}
		cfg.QIs = append(cfg.QIs, QI{Name: "q" + strconv.Itoa(q), Steps: steps})
	}
	ns := r.IntN(3)
	for j := range ns {
		cfg.Sensitive = append(cfg.Sensitive, "s"+strconv.Itoa(j))
	}
	nPeople := 1 + r.IntN(30)
	records := make([]KAnonRecord, r.IntN(60))
	for i := range records {
		rc := KAnonRecord{Person: "p" + strconv.Itoa(r.IntN(nPeople))}
		for range nq {
			rc.QI = append(rc.QI, values[r.IntN(1+r.IntN(len(values)))])
		}
		for range ns {
			rc.Sensitive = append(rc.Sensitive, values[r.IntN(len(values))])
		}
		records[i] = rc
	}
	return records, cfg
}

func TestKAnonymizeProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		in, cfg := randomKAnonInput(r)
		res, err := KAnonymize(in, cfg)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		t.Run(strconv.Itoa(i), func(t *testing.T) { checkKAnon(t, in, cfg, res) })
	}
}

func TestKAnonymizeDemographics(t *testing.T) {
	t.Parallel()
	in := demographics(3000, 7)
	for _, k := range []int{2, 5, 11} {
		cfg := demographicsConfig(k)
		cfg.L = 2
		res, err := KAnonymize(in, cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkKAnon(t, in, cfg, res)
	}
}

// demographics returns n records of realistic survey demographics: a few
// large countries and a long tail, ages 13 to 85, some unknowns, and one
// person in twenty with a second record.
func demographics(n int, seed uint64) []KAnonRecord {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	big := []string{"US", "IN", "GB", "BR", "NG", "CN", "MX", "DE", "ES", "CA"}
	tail := strings.Fields(iso3166)
	genders := []string{"female", "male", "nonbinary", "other", ""}
	education := []string{"none", "primary", "secondary", "associate", "bachelor", "master", "doctorate", ""}
	records := make([]KAnonRecord, 0, n)
	for len(records) < n {
		var country string
		switch x := r.IntN(100); {
		case x < 60:
			country = big[r.IntN(1+r.IntN(len(big)))]
		case x < 95:
			country = tail[r.IntN(len(tail))]
		default:
			country = ""
		}
		age := ""
		if r.IntN(10) > 0 {
			age = AgeBand(13 + r.IntN(40) + r.IntN(33))
		}
		rc := KAnonRecord{
			Person:    "learner-" + strconv.Itoa(len(records)),
			QI:        []string{country, age, genders[r.IntN(len(genders))], education[r.IntN(len(education))]},
			Sensitive: []string{[]string{"", "yes", "no"}[r.IntN(3)]},
		}
		records = append(records, rc)
		if r.IntN(20) == 0 && len(records) < n {
			again := rc
			again.QI = slices.Clone(rc.QI)
			again.QI[3] = education[r.IntN(len(education))]
			records = append(records, again)
		}
	}
	return records
}

func demographicsConfig(k int) KAnonConfig {
	return KAnonConfig{
		K: k,
		QIs: []QI{
			{Name: "country", Steps: CountryLadder()},
			{Name: "age_band", Steps: AgeBandLadder()},
			{Name: "gender", Steps: IdentityLadder()},
			{Name: "education", Steps: IdentityLadder()},
		},
		Sensitive: []string{"disability"},
	}
}

func FuzzKAnonymize(f *testing.F) {
	values := []string{"", "a1", "a2", "b1", "b2", "c1", "SE", "NG"}
	f.Fuzz(func(t *testing.T, data []byte, k, l uint8) {
		cfg := KAnonConfig{
			K: int(k%8) - 1, L: int(l % 4),
			QIs:       []QI{{Name: "x", Steps: letterLadder()}, {Name: "c", Steps: CountryLadder()}},
			Sensitive: []string{"s"},
		}
		var in []KAnonRecord
		for i := 0; i+3 <= len(data) && len(in) < 200; i += 3 {
			in = append(in, KAnonRecord{
				Person:    "p" + strconv.Itoa(int(data[i]%16)),
				QI:        []string{values[data[i+1]%8], values[data[i+1]>>5]},
				Sensitive: []string{values[data[i+2]%8]},
			})
		}
		res, err := KAnonymize(in, cfg)
		if (err != nil) != (cfg.K < 1) {
			t.Fatalf("K = %d: error %v", cfg.K, err)
		}
		if err == nil {
			checkKAnon(t, in, cfg, res)
		}
	})
}

func BenchmarkKAnonymize(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		in := demographics(n, 1)
		cfg := demographicsConfig(5)
		cfg.L = 2
		b.Run("records="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := KAnonymize(in, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
