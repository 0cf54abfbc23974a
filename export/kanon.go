package export

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/rexport/rexport/deidentify"
)

// kanonBuffer holds a table's output rows so that its quasi-identifiers
// can be k-anonymised together before any row is written: the
// quasi-identifiers and sensitive values in memory, the other columns in
// a temporary file in dir (see rowSpill), so that memory does not grow
// with the table's other columns.
type kanonBuffer struct {
	dir, table string
	spill      *rowSpill // made at the first row
	cfg        deidentify.KAnonConfig
	// linked returns, for a person, quasi-identifiers already published
	// in another table of the export that a researcher can join on the
	// learner pseudonym; they take part in this table's classes as fixed
	// values, so the join is k-anonymous too.
	linked    func(person string) []string
	nLinked   int
	qiCols    []int // positions of quasi-identifier columns in a row
	sensCols  []int // positions of sensitive columns
	width     int   // columns in a row
	records   []deidentify.KAnonRecord
	chunk     []string          // where the next records' values go
	values    map[string]string // each distinct value, held once
	k, l      int
	sensNames []string
}

// newKAnonBuffer returns a buffer for table whose plan has
// quasi-identifiers, nil otherwise. linkedNames and linked describe the
// quasi-identifiers joinable from earlier tables (none if empty). The
// caller must close it.
func newKAnonBuffer(dir, table string, plan []outColumn, dua DUA, linkedNames []string, linked func(string) []string) *kanonBuffer {
	b := &kanonBuffer{dir: dir, table: table, width: len(plan), k: dua.KAnonymity(), l: dua.LDiversity()}
	for i, oc := range plan {
		switch {
		case oc.qi != "":
			steps, _ := ladder(oc.qi) // Policy.Check vetted the name
			b.qiCols = append(b.qiCols, i)
			b.cfg.QIs = append(b.cfg.QIs, deidentify.QI{Name: oc.Name, Steps: steps})
		case oc.sensitive:
			b.sensCols = append(b.sensCols, i)
			b.sensNames = append(b.sensNames, oc.Name)
		}
	}
	if len(b.qiCols) == 0 {
		return nil
	}
	if len(linkedNames) > 0 {
		b.linked, b.nLinked = linked, len(linkedNames)
		for _, name := range linkedNames {
			b.cfg.QIs = append(b.cfg.QIs, deidentify.QI{Name: name, Steps: deidentify.IdentityLadder()})
		}
	}
	b.cfg.K, b.cfg.L, b.cfg.Sensitive = b.k, b.l, b.sensNames
	return b
}

// qiNames are the names of this table's own quasi-identifier columns.
func (b *kanonBuffer) qiNames() []string {
	var out []string
	for _, qi := range b.cfg.QIs[:len(b.qiCols)] {
		out = append(out, qi.Name)
	}
	return out
}

func (b *kanonBuffer) add(person string, row Row) error {
	if b.spill == nil {
		keep := make([]bool, b.width)
		for i := range keep {
			keep[i] = !slices.Contains(b.qiCols, i) && !slices.Contains(b.sensCols, i)
		}
		var err error
		if b.spill, err = newRowSpill(b.dir, b.table, keep); err != nil {
			return err
		}
	}
	if err := b.spill.add(row); err != nil {
		return err
	}
	// A record's values are slices of a chunk shared by many records,
	// and each distinct value is held once: the values are few (age
	// bands, countries), the records as many as the rows.
	nq, ns := len(b.qiCols)+b.nLinked, len(b.sensCols)
	if len(b.chunk)+nq+ns > cap(b.chunk) {
		b.chunk = make([]string, 0, max(kanonChunk, nq+ns))
	}
	k := len(b.chunk)
	b.chunk = b.chunk[:k+nq+ns]
	rec := deidentify.KAnonRecord{Person: person, QI: b.chunk[k : k+len(b.qiCols) : k+nq], Sensitive: b.chunk[k+nq : k+nq+ns : k+nq+ns]}
	for j, c := range b.qiCols {
		rec.QI[j] = b.intern(row[c])
	}
	if b.linked != nil {
		l := b.linked(person)
		for j := range b.nLinked {
			v := ""
			if j < len(l) {
				v = l[j]
			}
			rec.QI = append(rec.QI, v)
		}
	}
	for j, c := range b.sensCols {
		rec.Sensitive[j] = b.intern(row[c])
	}
	b.records = append(b.records, rec)
	return nil
}

// kanonChunk is the number of strings in a chunk of record values.
const kanonChunk = 4096

// intern returns v if it is a string ("" if not), as held by the buffer.
func (b *kanonBuffer) intern(v any) string {
	s, _ := v.(string)
	if held, ok := b.values[s]; ok {
		return held
	}
	if b.values == nil {
		b.values = map[string]string{}
	}
	b.values[s] = s
	return s
}

// close removes the buffer's temporary file.
func (b *kanonBuffer) close() error {
	if b == nil || b.spill == nil {
		return nil
	}
	err := b.spill.close()
	b.spill = nil
	return err
}

// flush k-anonymises the buffered rows, writes them in their original
// order and returns the risk report. published, if not nil, is told each
// record's person and its original and published quasi-identifiers (this
// table's own, in column order).
func (b *kanonBuffer) flush(write func(Row) error, published func(person string, before, after []string)) (*deidentify.RiskReport, error) {
	res, err := deidentify.KAnonymize(b.records, b.cfg)
	if err != nil {
		return nil, err
	}
	if published != nil {
		n := len(b.qiCols)
		for i, rec := range b.records {
			published(rec.Person, rec.QI[:n], res.Records[i].QI[:n])
		}
	}
	if b.spill == nil {
		return &res.Report, nil // no rows
	}
	i := 0
	err = b.spill.each(func(row Row) error {
		rec := res.Records[i]
		i++
		for j, c := range b.qiCols {
			row[c] = nullIfEmpty(rec.QI[j])
		}
		for j, c := range b.sensCols {
			row[c] = nullIfEmpty(rec.Sensitive[j])
		}
		return write(row)
	})
	if err != nil {
		return nil, err
	}
	return &res.Report, nil
}

func (b *kanonBuffer) describe(oc outColumn) string {
	if oc.sensitive {
		return fmt.Sprintf("; nulled in any k-class with fewer than %d distinct values (l-diversity) and for records whose quasi-identifiers were suppressed", b.l)
	}
	if b.nLinked > 0 {
		return fmt.Sprintf("; quasi-identifier: generalised, then suppressed (null) where fewer than %d people share the combination, counting the learners table's published quasi-identifiers too (k-anonymity across the join)", b.k)
	}
	return fmt.Sprintf("; quasi-identifier: generalised, then suppressed (null) where fewer than %d people share the combination (k-anonymity)", b.k)
}

// headline collects what the headline statistics need: each learner's
// country before and after k-anonymity (from the learners table) and
// their grades.
type headline struct {
	learners *publishedQIs // nil until the learners table is built
	grades   []gradeRow
	k        int // smallest group published
}

// publishedQIs holds, per learner, the quasi-identifiers the learners
// table published (for the tables joinable to it) and the country before
// and after k-anonymity (for the headline statistics). A large export has
// a few hundred thousand learners but few distinct values and
// combinations, so those are held once and learners point to them.
type publishedQIs struct {
	country  int // index of country_code in the tuples, -1 if none
	byPerson map[string]publishedRow
	tuples   [][]string
	tupleIdx map[string]int32 // by tupleKey
	strs     []string
	strIdx   map[string]int32
	key      []byte // scratch for tupleKey
}

// tupleKey appends each value's length and bytes to b: distinct tuples
// get distinct keys, whatever bytes the values hold.
func tupleKey(b []byte, values []string) []byte {
	for _, v := range values {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

type publishedRow struct {
	tuple                       int32 // index in tuples
	countryBefore, countryAfter int32 // index in strs
}

func newPublishedQIs(country int) *publishedQIs {
	return &publishedQIs{country: country, byPerson: map[string]publishedRow{}, tupleIdx: map[string]int32{}, strIdx: map[string]int32{}}
}

// add records a learner's quasi-identifiers before and after k-anonymity.
func (p *publishedQIs) add(person string, before, after []string) {
	p.key = tupleKey(p.key[:0], after)
	t, ok := p.tupleIdx[string(p.key)]
	if !ok {
		t = int32(len(p.tuples))
		p.tuples = append(p.tuples, slices.Clone(after))
		p.tupleIdx[string(p.key)] = t
	}
	row := publishedRow{tuple: t, countryBefore: -1, countryAfter: -1}
	if p.country >= 0 {
		row.countryBefore, row.countryAfter = p.intern(before[p.country]), p.intern(after[p.country])
	}
	p.byPerson[person] = row
}

func (p *publishedQIs) intern(s string) int32 {
	i, ok := p.strIdx[s]
	if !ok {
		i = int32(len(p.strs))
		p.strs = append(p.strs, s)
		p.strIdx[s] = i
	}
	return i
}

// linked returns the learner's published quasi-identifiers, nil if the
// learners table did not publish the learner. The slice must not be
// changed.
func (p *publishedQIs) linked(person string) []string {
	row, ok := p.byPerson[person]
	if !ok {
		return nil
	}
	return p.tuples[row.tuple]
}

// countries returns the learner's country before and after k-anonymity,
// "" if unknown.
func (p *publishedQIs) countries(person string) (before, after string) {
	row, ok := p.byPerson[person]
	if !ok || row.countryBefore < 0 {
		return "", ""
	}
	return p.strs[row.countryBefore], p.strs[row.countryAfter]
}

// otherRegions pools the regions with fewer than k graded learners.
const otherRegions = "other regions (fewer than k learners each)"

type gradeRow struct {
	learner string
	grade   float64
	passed  bool
}

// HeadlineStat is a statistic computed on the data before and after
// de-identification, so a researcher sees what it cost.
type HeadlineStat struct {
	// Before and After are null where no rows fall in the group.
	Before *float64 `json:"before"`
	After  *float64 `json:"after"`
	// N is the number of grade rows behind the value before/after.
	NBefore int `json:"n_before"`
	NAfter  int `json:"n_after"`
}

// HeadlineStats are the manifest's before/after statistics.
type HeadlineStats struct {
	SharePassed HeadlineStat `json:"share_passed"`
	// MeanGradeByRegion groups grades by the learner's UN sub-region, from
	// the source country (before) and the published country (after;
	// "unknown" where only a continent or nothing was published).
	MeanGradeByRegion map[string]HeadlineStat `json:"mean_grade_by_region"`
}

// regionOf maps a published country value (code, region or continent) to
// a sub-region, or "unknown".
func regionOf(v string) string {
	if r, ok := deidentify.CountryRegion(v); ok {
		return r
	}
	if deidentify.IsRegion(v) {
		return v
	}
	return "unknown"
}

func (h *headline) stats() *HeadlineStats {
	if len(h.grades) == 0 || h.learners == nil {
		return nil
	}
	out := &HeadlineStats{MeanGradeByRegion: map[string]HeadlineStat{}}
	type acc struct {
		sum float64
		n   int
	}
	before, after := map[string]*acc{}, map[string]*acc{}
	add := func(m map[string]*acc, k string, g float64) {
		a := m[k]
		if a == nil {
			a = &acc{}
			m[k] = a
		}
		a.sum += g
		a.n++
	}
	passed := 0
	for _, g := range h.grades {
		if g.passed {
			passed++
		}
		b, a := h.learners.countries(g.learner)
		add(before, regionOf(b), g.grade)
		add(after, regionOf(a), g.grade)
	}
	// No row is dropped by de-identification, so the share passed is the
	// same before and after; reporting both makes that checkable.
	share := float64(passed) / float64(len(h.grades))
	out.SharePassed = HeadlineStat{Before: &share, After: &share, NBefore: len(h.grades), NAfter: len(h.grades)}
	// A region with fewer than k graded learners would publish a few
	// people's grades: such groups are pooled as "other regions".
	for _, m := range []map[string]*acc{before, after} {
		other := &acc{}
		// In key order: a float sum in map order would differ between
		// builds of the same data.
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if a := m[k]; a.n < h.k {
				other.sum, other.n = other.sum+a.sum, other.n+a.n
				delete(m, k)
			}
		}
		// The pool itself is published only if it reaches k.
		if other.n >= h.k {
			m[otherRegions] = other
		}
	}
	for _, m := range []map[string]*acc{before, after} {
		for k := range m {
			st := out.MeanGradeByRegion[k]
			if a := before[k]; a != nil {
				mean := a.sum / float64(a.n)
				st.Before, st.NBefore = &mean, a.n
			}
			if a := after[k]; a != nil {
				mean := a.sum / float64(a.n)
				st.After, st.NAfter = &mean, a.n
			}
			out.MeanGradeByRegion[k] = st
		}
	}
	return out
}
