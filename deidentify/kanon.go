package deidentify

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Step is one level of a generalisation ladder.
type Step struct {
	// Name says what the level publishes, e.g. "region". It is recorded in
	// RiskReport.Ladder.
	Name string
	// Apply maps an original (ungeneralised) value to its form at this
	// level. Every step receives the original value, not the output of the
	// step before. It is never called with "" (null stays null) and may
	// return "" to publish null. It must be a pure function.
	Apply func(string) string
}

// QI is a quasi-identifier column and its generalisation ladder.
type QI struct {
	// Name is the column name, unique within a KAnonConfig.
	Name string
	// Steps are the generalisation levels, from the identity at 0 to the
	// coarsest; there is at least one.
	Steps []Step
}

// KAnonRecord is one row as KAnonymize sees it.
type KAnonRecord struct {
	// Person identifies whose row it is (a learner id or pseudonym): the
	// records of one person count once in the size of a class. Required.
	Person string
	// QI holds one value per KAnonConfig.QIs, "" for null.
	QI []string
	// Sensitive holds one value per KAnonConfig.Sensitive, "" for null.
	Sensitive []string
}

// KAnonConfig says how KAnonymize protects a table.
type KAnonConfig struct {
	// K is the least number of distinct people that every published
	// combination of quasi-identifier values must be shared by. At least 1.
	K int
	// L, if positive, requires distinct l-diversity: in every class each
	// sensitive column must have at least L distinct non-null values, or it
	// is nulled for the whole class. 0 turns the check off.
	L int
	// QIs are the quasi-identifier columns with their ladders.
	QIs []QI
	// Sensitive names the sensitive columns, in the order of
	// KAnonRecord.Sensitive.
	Sensitive []string
}

// KAnonResult is the outcome of KAnonymize.
type KAnonResult struct {
	// Steps holds the chosen ladder step per QI.
	Steps []int
	// Records are the transformed records, in the order of the input. They
	// share no slices with the input.
	Records []KAnonRecord
	// Suppressed reports, per record, whether its quasi-identifiers were
	// all nulled because its class had fewer than K people.
	Suppressed []bool
	// Report describes the residual risk, for the manifest.
	Report RiskReport
}

// RiskReport describes what KAnonymize did and the re-identification risk
// that remains. It is written to the export manifest as JSON as is. Its maps
// are never nil.
type RiskReport struct {
	K int `json:"k"`
	L int `json:"l"`
	// KAchieved is the least number of distinct people in a class of
	// non-suppressed records, 0 if every record was suppressed (or there
	// are none). It is at least K otherwise.
	KAchieved int `json:"k_achieved"`
	// People is the number of distinct people and Records the number of
	// records in the input.
	People  int `json:"people"`
	Records int `json:"records"`
	// Ladder maps each QI name to the name of its chosen step.
	Ladder map[string]string `json:"ladder"`
	// ClassSizeHistogram maps a class size in people ("1", "2", ...) to the
	// number of classes of non-suppressed records of that size.
	ClassSizeHistogram map[string]int `json:"class_size_histogram"`
	// GeneralisedPeople counts, per QI, the people with a non-suppressed
	// record whose published value differs from its non-null original.
	GeneralisedPeople map[string]int `json:"generalised_people"`
	// SuppressedPeople counts, per QI, the people with a suppressed record
	// whose original value was not null.
	SuppressedPeople map[string]int `json:"suppressed_people"`
	// ShareRecordsBelow2K is the share of non-suppressed records whose class
	// has fewer than 2K people (0 if there are no such records), a measure
	// of how close to the threshold the table is.
	ShareRecordsBelow2K float64 `json:"share_records_below_2k"`
	// LDiversityViolations is the number of classes in which at least one
	// sensitive column had between 1 and L-1 distinct non-null values and
	// was therefore nulled for the class.
	LDiversityViolations int `json:"l_diversity_violations"`
	// SensitiveSuppressed counts, per sensitive column, the records whose
	// non-null value was nulled: by suppression or by the l-diversity check.
	SensitiveSuppressed map[string]int `json:"sensitive_suppressed"`
}

// maxKAnonCombinations bounds the number of ladder combinations KAnonymize
// tries, so that a misconfigured ladder fails fast instead of running for
// hours.
const maxKAnonCombinations = 1 << 12

// KAnonymize makes records k-anonymous with respect to the quasi-identifiers
// of cfg by global recoding, then suppression, then (if cfg.L > 0) distinct
// l-diversity of the sensitive columns.
//
// An equivalence class is a tuple of generalised QI values; its size is the
// number of distinct people with a record in it. KAnonymize tries every
// combination of ladder steps and keeps the one that leaves the fewest
// people in classes smaller than K, ties broken by the least total number of
// steps and then by the earlier QI being less generalised. It then nulls
// every QI of the records in classes smaller than K; records are never
// dropped, but their sensitive values are nulled too. Records whose QIs are
// all null before suppression form a class like any other. Finally, for
// each class of non-suppressed records and each sensitive column with fewer
// than L distinct non-null values, it nulls the column for every record of
// the class.
//
// It returns an error, and no result, if cfg is invalid (K < 1, L < 0, a QI
// without name or steps, duplicate column names, too many combinations) or a
// record has an empty Person or the wrong number of values; the error names
// the record by index and never repeats a value. The input is not modified.
//
// It runs in time linear in the number of records plus, per combination,
// linear in the number of distinct original QI tuples.
func KAnonymize(records []KAnonRecord, cfg KAnonConfig) (*KAnonResult, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	nq, ns := len(cfg.QIs), len(cfg.Sensitive)
	for i := range records {
		r := &records[i]
		switch {
		case r.Person == "":
			return nil, fmt.Errorf("deidentify: k-anonymity: record %d: person is empty", i)
		case len(r.QI) != nq:
			return nil, fmt.Errorf("deidentify: k-anonymity: record %d: has %d quasi-identifier values, want %d", i, len(r.QI), nq)
		case len(r.Sensitive) != ns:
			return nil, fmt.Errorf("deidentify: k-anonymity: record %d: has %d sensitive values, want %d", i, len(r.Sensitive), ns)
		}
	}

	t := newKAnonTable(records, cfg)
	steps := t.choose()
	return t.apply(steps), nil
}

func (cfg *KAnonConfig) validate() error {
	if cfg.K < 1 {
		return fmt.Errorf("deidentify: k-anonymity: k must be at least 1, got %d", cfg.K)
	}
	if cfg.L < 0 {
		return fmt.Errorf("deidentify: k-anonymity: l must not be negative, got %d", cfg.L)
	}
	names := make(map[string]bool, len(cfg.QIs)+len(cfg.Sensitive))
	combos := 1
	for i, q := range cfg.QIs {
		if q.Name == "" {
			return fmt.Errorf("deidentify: k-anonymity: quasi-identifier %d has no name", i)
		}
		if names[q.Name] {
			return fmt.Errorf("deidentify: k-anonymity: column %q is listed twice", q.Name)
		}
		names[q.Name] = true
		if len(q.Steps) == 0 {
			return fmt.Errorf("deidentify: k-anonymity: quasi-identifier %q has no steps", q.Name)
		}
		for j, s := range q.Steps {
			if s.Apply == nil {
				return fmt.Errorf("deidentify: k-anonymity: quasi-identifier %q: step %d (%q) has no Apply function", q.Name, j, s.Name)
			}
		}
		if combos > maxKAnonCombinations/len(q.Steps) {
			return fmt.Errorf("deidentify: k-anonymity: the ladders give more than %d combinations of steps", maxKAnonCombinations)
		}
		combos *= len(q.Steps)
	}
	for i, s := range cfg.Sensitive {
		if s == "" {
			return fmt.Errorf("deidentify: k-anonymity: sensitive column %d has no name", i)
		}
		if names[s] {
			return fmt.Errorf("deidentify: k-anonymity: column %q is listed twice", s)
		}
		names[s] = true
	}
	return nil
}

// kanonTable is the interned form of the input that the search works on.
// Values, people and tuples are replaced by dense int32 ids; value id 0 is
// null in every column.
type kanonTable struct {
	cfg     KAnonConfig
	records []KAnonRecord
	nq      int

	personOf []int32 // per record
	people   int

	origVals [][]string // per QI: value id -> original value
	tupleOf  []int32    // per record: id of its tuple of original values
	tuples   []int32    // tuple id*nq + q -> original value id
	nTuples  int

	// single[t] is the number of people all of whose records have tuple t.
	// The other people, with records in several tuples, are listed in
	// multiTuples[multiStart[i]:multiStart[i+1]] (distinct tuples).
	single      []int32
	multiStart  []int
	multiTuples []int32

	// gen[q][s][v] is the id, in genVals[q][s], of original value v of QI q
	// at step s.
	gen     [][][]int32
	genVals [][][]string

	// Scratch space of classes, reused across combinations.
	genRow   []int32
	classOf  []int32
	sizes    []int32
	stamp    []int32
	groupMap map[uint64]int32
}

func newKAnonTable(records []KAnonRecord, cfg KAnonConfig) *kanonTable {
	n, nq := len(records), len(cfg.QIs)
	t := &kanonTable{cfg: cfg, records: records, nq: nq}

	// People and original values.
	t.personOf = make([]int32, n)
	personIDs := make(map[string]int32)
	dicts := make([]map[string]int32, nq)
	t.origVals = make([][]string, nq)
	for q := range dicts {
		dicts[q] = map[string]int32{"": 0}
		t.origVals[q] = []string{""}
	}
	orig := make([]int32, n*nq)
	for i := range records {
		r := &records[i]
		p, ok := personIDs[r.Person]
		if !ok {
			p = int32(len(personIDs))
			personIDs[r.Person] = p
		}
		t.personOf[i] = p
		for q, v := range r.QI {
			id, ok := dicts[q][v]
			if !ok {
				id = int32(len(t.origVals[q]))
				dicts[q][v] = id
				t.origVals[q] = append(t.origVals[q], v)
			}
			orig[i*nq+q] = id
		}
	}
	t.people = len(personIDs)

	// Tuples of original values.
	cards := make([]int, nq)
	for q := range cards {
		cards[q] = len(t.origVals[q])
	}
	t.tupleOf = make([]int32, n)
	t.nTuples = t.group(orig, cards, t.tupleOf)
	t.tuples = make([]int32, t.nTuples*nq)
	for i, tu := range t.tupleOf {
		copy(t.tuples[int(tu)*nq:int(tu+1)*nq], orig[i*nq:(i+1)*nq])
	}

	// People per tuple.
	first := make([]int32, t.people)
	for i := range first {
		first[i] = -1
	}
	multi := make([]bool, t.people)
	for i, p := range t.personOf {
		switch f := first[p]; {
		case f < 0:
			first[p] = t.tupleOf[i]
		case f != t.tupleOf[i]:
			multi[p] = true
		}
	}
	t.single = make([]int32, t.nTuples)
	for p, f := range first {
		if !multi[p] {
			t.single[f]++
		}
	}
	var pairs []uint64
	for i, p := range t.personOf {
		if multi[p] {
			pairs = append(pairs, uint64(p)<<32|uint64(t.tupleOf[i]))
		}
	}
	slices.Sort(pairs)
	pairs = slices.Compact(pairs)
	for i, pt := range pairs {
		if i == 0 || pt>>32 != pairs[i-1]>>32 {
			t.multiStart = append(t.multiStart, len(t.multiTuples))
		}
		t.multiTuples = append(t.multiTuples, int32(uint32(pt)))
	}
	t.multiStart = append(t.multiStart, len(t.multiTuples))

	// Generalised values, computed once per distinct original value.
	t.gen = make([][][]int32, nq)
	t.genVals = make([][][]string, nq)
	for q, qi := range cfg.QIs {
		t.gen[q] = make([][]int32, len(qi.Steps))
		t.genVals[q] = make([][]string, len(qi.Steps))
		for s, step := range qi.Steps {
			ids := make([]int32, len(t.origVals[q]))
			vals := []string{""}
			dict := map[string]int32{"": 0}
			for v, ov := range t.origVals[q][1:] {
				g := step.Apply(ov)
				id, ok := dict[g]
				if !ok {
					id = int32(len(vals))
					dict[g] = id
					vals = append(vals, g)
				}
				ids[v+1] = id
			}
			t.gen[q][s] = ids
			t.genVals[q][s] = vals
		}
	}
	t.genRow = make([]int32, t.nTuples*nq)
	t.classOf = make([]int32, t.nTuples)
	return t
}

// group assigns to each row of rows (len(out) rows of nq ids, the q-th id
// being below cards[q]) a dense group id in out, equal ids for equal rows,
// and returns the number of groups.
func (t *kanonTable) group(rows []int32, cards []int, out []int32) int {
	nq := len(cards)
	if t.groupMap == nil {
		t.groupMap = make(map[uint64]int32)
	}
	m := t.groupMap
	clear(m)

	// Pack a row into one uint64 in mixed radix if the product of the
	// cardinalities fits, which it does for any realistic set of QIs.
	mult := make([]uint64, nq)
	fits := true
	prod := uint64(1)
	for q := nq - 1; q >= 0; q-- {
		mult[q] = prod
		hi, lo := bits.Mul64(prod, uint64(cards[q]))
		if hi != 0 {
			fits = false
			break
		}
		prod = lo
	}
	if fits {
		for i := range out {
			var key uint64
			for q, v := range rows[i*nq : (i+1)*nq] {
				key += uint64(v) * mult[q]
			}
			id, ok := m[key]
			if !ok {
				id = int32(len(m))
				m[key] = id
			}
			out[i] = id
		}
		return len(m)
	}

	// Otherwise refine one column at a time: the group of the first q+1
	// columns is interned from (group of the first q, id of column q).
	for i := range out {
		out[i] = rows[i*nq]
	}
	groups := cards[0]
	for q := 1; q < nq; q++ {
		clear(m)
		for i := range out {
			key := uint64(out[i])<<32 | uint64(uint32(rows[i*nq+q]))
			id, ok := m[key]
			if !ok {
				id = int32(len(m))
				m[key] = id
			}
			out[i] = id
		}
		groups = len(m)
	}
	return groups
}

// classes computes, for the combination steps, the class of every tuple
// into t.classOf and the size in people of every class into t.sizes.
func (t *kanonTable) classes(steps []int) {
	nq := t.nq
	cards := make([]int, nq)
	for q, s := range steps {
		g := t.gen[q][s]
		cards[q] = len(t.genVals[q][s])
		for tu := range t.nTuples {
			t.genRow[tu*nq+q] = g[t.tuples[tu*nq+q]]
		}
	}
	nc := t.group(t.genRow, cards, t.classOf)

	t.sizes = slices.Grow(t.sizes[:0], nc)[:nc]
	clear(t.sizes)
	for tu, c := range t.classOf {
		t.sizes[c] += t.single[tu]
	}
	// A person with records in several tuples counts once per class:
	// stamp[c] holds the last person (index + 1) counted in class c.
	t.stamp = slices.Grow(t.stamp[:0], nc)[:nc]
	clear(t.stamp)
	for i := range len(t.multiStart) - 1 {
		for _, tu := range t.multiTuples[t.multiStart[i]:t.multiStart[i+1]] {
			if c := t.classOf[tu]; t.stamp[c] != int32(i+1) {
				t.stamp[c] = int32(i + 1)
				t.sizes[c]++
			}
		}
	}
}

// suppressedPeople returns the number of people with a record in a class
// smaller than K, after classes.
func (t *kanonTable) suppressedPeople() int {
	k := t.cfg.K
	n := 0
	for tu, c := range t.classOf {
		if int(t.sizes[c]) < k {
			n += int(t.single[tu])
		}
	}
	for i := range len(t.multiStart) - 1 {
		for _, tu := range t.multiTuples[t.multiStart[i]:t.multiStart[i+1]] {
			if int(t.sizes[t.classOf[tu]]) < k {
				n++
				break
			}
		}
	}
	return n
}

// choose returns the best combination of steps: fewest suppressed people,
// then least total generalisation, then lexicographically smallest. The
// combinations are enumerated in lexicographic order, so keeping only
// strict improvements implements the last rule.
func (t *kanonTable) choose() []int {
	steps := make([]int, t.nq)
	best := slices.Clone(steps)
	bestSupp, bestSum := math.MaxInt, math.MaxInt
	for {
		t.classes(steps)
		supp, sum := t.suppressedPeople(), 0
		for _, s := range steps {
			sum += s
		}
		if supp < bestSupp || supp == bestSupp && sum < bestSum {
			copy(best, steps)
			bestSupp, bestSum = supp, sum
		}
		// Advance the odometer, last QI fastest.
		q := t.nq - 1
		for ; q >= 0; q-- {
			steps[q]++
			if steps[q] < len(t.cfg.QIs[q].Steps) {
				break
			}
			steps[q] = 0
		}
		if q < 0 {
			return best
		}
	}
}

// apply publishes the records under the combination steps.
func (t *kanonTable) apply(steps []int) *KAnonResult {
	cfg, nq, ns := &t.cfg, t.nq, len(t.cfg.Sensitive)
	n := len(t.records)
	t.classes(steps)
	k := cfg.K

	res := &KAnonResult{
		Steps:      slices.Clone(steps),
		Records:    make([]KAnonRecord, n),
		Suppressed: make([]bool, n),
		Report: RiskReport{
			K: cfg.K, L: cfg.L, People: t.people, Records: n,
			Ladder:              make(map[string]string, nq),
			ClassSizeHistogram:  make(map[string]int),
			GeneralisedPeople:   make(map[string]int, nq),
			SuppressedPeople:    make(map[string]int, nq),
			SensitiveSuppressed: make(map[string]int, ns),
		},
	}
	rep := &res.Report
	for q, qi := range cfg.QIs {
		rep.Ladder[qi.Name] = qi.Steps[steps[q]].Name
	}

	for _, size := range t.sizes {
		if int(size) < k {
			continue
		}
		if rep.KAchieved == 0 || int(size) < rep.KAchieved {
			rep.KAchieved = int(size)
		}
		rep.ClassSizeHistogram[strconv.Itoa(int(size))]++
	}

	qiVals := make([]string, n*nq)
	sensVals := make([]string, n*ns)
	// generalised[p*nq+q] and suppressed[p*nq+q] say whether person p
	// has been counted for QI q.
	generalised := make([]bool, t.people*nq)
	suppressed := make([]bool, t.people*nq)
	suppressedSensitive := make([]int, ns)
	published, below2K := 0, 0
	for i := range t.records {
		in, out := &t.records[i], &res.Records[i]
		p := int(t.personOf[i])
		tu := t.tupleOf[i]
		size := int(t.sizes[t.classOf[tu]])
		out.Person = in.Person
		out.QI = qiVals[i*nq : (i+1)*nq : (i+1)*nq]
		out.Sensitive = sensVals[i*ns : (i+1)*ns : (i+1)*ns]
		if size < k {
			res.Suppressed[i] = true
			for q, v := range in.QI {
				if v != "" {
					suppressed[p*nq+q] = true
				}
			}
			// out.QI and out.Sensitive stay all null: the record's class is
			// unknown, but its person's values published elsewhere (another
			// table joined on the pseudonym) may still single it out.
			for j, v := range in.Sensitive {
				if v != "" {
					suppressedSensitive[j]++
				}
			}
			continue
		}
		copy(out.Sensitive, in.Sensitive)
		published++
		if size-k < k { // size < 2k without overflow
			below2K++
		}
		for q, v := range in.QI {
			g := t.genVals[q][steps[q]][t.gen[q][steps[q]][t.tuples[int(tu)*nq+q]]]
			out.QI[q] = g
			if v != "" && g != v {
				generalised[p*nq+q] = true
			}
		}
	}
	for q, qi := range cfg.QIs {
		g, s := 0, 0
		for p := range t.people {
			if generalised[p*nq+q] {
				g++
			}
			if suppressed[p*nq+q] {
				s++
			}
		}
		rep.GeneralisedPeople[qi.Name] = g
		rep.SuppressedPeople[qi.Name] = s
	}
	if published > 0 {
		rep.ShareRecordsBelow2K = float64(below2K) / float64(published)
	}

	for j, name := range cfg.Sensitive {
		rep.SensitiveSuppressed[name] = suppressedSensitive[j]
	}
	if cfg.L > 0 {
		t.lDiversity(res)
	}
	return res
}

// lDiversity nulls, in every class of non-suppressed records, each sensitive
// column with fewer than L distinct non-null values.
func (t *kanonTable) lDiversity(res *KAnonResult) {
	l := t.cfg.L
	nc := len(t.sizes)
	violated := make([]bool, nc)
	distinct := make([]int, nc)
	for j, name := range t.cfg.Sensitive {
		clear(distinct)
		dict := make(map[string]int32)
		seen := make(map[uint64]struct{})
		for i := range res.Records {
			v := res.Records[i].Sensitive[j]
			if res.Suppressed[i] || v == "" {
				continue
			}
			c := t.classOf[t.tupleOf[i]]
			if distinct[c] >= l {
				continue // already diverse enough: no need to look further
			}
			id, ok := dict[v]
			if !ok {
				id = int32(len(dict))
				dict[v] = id
			}
			key := uint64(c)<<32 | uint64(id)
			if _, ok := seen[key]; !ok {
				seen[key] = struct{}{}
				distinct[c]++
			}
		}
		nulled := 0
		for i := range res.Records {
			c := t.classOf[t.tupleOf[i]]
			if res.Suppressed[i] || distinct[c] == 0 || distinct[c] >= l {
				continue
			}
			violated[c] = true
			if res.Records[i].Sensitive[j] != "" {
				res.Records[i].Sensitive[j] = ""
				nulled++
			}
		}
		res.Report.SensitiveSuppressed[name] += nulled
	}
	for _, v := range violated {
		if v {
			res.Report.LDiversityViolations++
		}
	}
}
