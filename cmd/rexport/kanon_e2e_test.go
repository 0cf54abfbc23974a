package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/export"
)

// qiRow is one output row's quasi-identifiers: as published and as they
// were in the source (after the policy's own generalisation to bands),
// and those of the same person published in the learners table, which a
// researcher can join on the pseudonym (nil for the learners table).
type qiRow struct {
	person    string
	published []string
	original  []string
	linked    []string
}

// checkKAnonymity recomputes, from the files and the source, what the
// manifest's risk report claims, and checks the k property itself over
// the table's quasi-identifiers joined with the linked ones.
func checkKAnonymity(t *testing.T, mt export.ManifestTable, rows []qiRow, qiNames, linkedNames []string, requireClasses bool) {
	t.Helper()
	r := mt.Risk
	if r == nil {
		t.Fatalf("%s: no risk report in the manifest", mt.Name)
	}
	k := r.K
	allNull := func(v []string) bool {
		for _, s := range v {
			if s != "" {
				return false
			}
		}
		return true
	}
	join := func(parts ...[]string) string {
		var all []string
		for _, p := range parts {
			all = append(all, p...)
		}
		return strings.Join(all, "\x00")
	}
	// People with no quasi-identifier of this table known form classes by
	// their linked values alone; such a class below k is suppressed too.
	unknown := map[string]map[string]bool{}
	for _, row := range rows {
		if allNull(row.original) {
			key := join(row.linked)
			if unknown[key] == nil {
				unknown[key] = map[string]bool{}
			}
			unknown[key][row.person] = true
		}
	}
	suppressed := make([]bool, len(rows))
	classes := map[string]map[string]bool{} // published tuple -> people
	for i, row := range rows {
		if allNull(row.original) {
			suppressed[i] = len(unknown[join(row.linked)]) < k
		} else {
			suppressed[i] = allNull(row.published)
		}
		if suppressed[i] {
			continue
		}
		key := join(row.published, row.linked)
		if classes[key] == nil {
			classes[key] = map[string]bool{}
		}
		classes[key][row.person] = true
	}
	hist := map[string]int{}
	kAchieved := 0
	for key, people := range classes {
		n := len(people)
		if n < k {
			t.Errorf("%s: the combination %q is shared by %d people, fewer than k=%d", mt.Name, strings.ReplaceAll(key, "\x00", " | "), n, k)
		}
		hist[fmt.Sprint(n)]++
		if kAchieved == 0 || n < kAchieved {
			kAchieved = n
		}
	}
	if len(classes) == 0 && requireClasses {
		t.Errorf("%s: every record was suppressed: the check proves little", mt.Name)
	}
	if diff := cmp.Diff(hist, r.ClassSizeHistogram); diff != "" {
		t.Errorf("%s: class size histogram mismatch (-recomputed +manifest):\n%s", mt.Name, diff)
	}
	if r.KAchieved != kAchieved {
		t.Errorf("%s: manifest k_achieved %d, recomputed %d", mt.Name, r.KAchieved, kAchieved)
	}
	count := func(m map[string]map[string]bool, name, person string) {
		if m[name] == nil {
			m[name] = map[string]bool{}
		}
		m[name][person] = true
	}
	gen, sup := map[string]map[string]bool{}, map[string]map[string]bool{}
	var below, kept int
	for i, row := range rows {
		for j, name := range qiNames {
			if row.original[j] == "" {
				continue
			}
			if suppressed[i] {
				count(sup, name, row.person)
			} else if row.published[j] != row.original[j] {
				count(gen, name, row.person)
			}
		}
		for j, name := range linkedNames {
			if suppressed[i] && j < len(row.linked) && row.linked[j] != "" {
				count(sup, name, row.person)
			}
		}
		if !suppressed[i] {
			kept++
			if len(classes[join(row.published, row.linked)]) < 2*k {
				below++
			}
		}
	}
	for _, name := range append(qiNames, linkedNames...) {
		if got, want := r.SuppressedPeople[name], len(sup[name]); got != want {
			t.Errorf("%s.%s: manifest says %d people suppressed, recomputed %d", mt.Name, name, got, want)
		}
		if got, want := r.GeneralisedPeople[name], len(gen[name]); got != want {
			t.Errorf("%s.%s: manifest says %d people generalised, recomputed %d", mt.Name, name, got, want)
		}
	}
	if kept > 0 {
		if want := float64(below) / float64(kept); fmt.Sprintf("%.9f", want) != fmt.Sprintf("%.9f", r.ShareRecordsBelow2K) {
			t.Errorf("%s: share below 2k: manifest %v, recomputed %v", mt.Name, r.ShareRecordsBelow2K, want)
		}
	}
}

func nullStr(ns sql.NullString) string { return ns.String }

func TestKAnonymityOnRealOutput(t *testing.T) {
	env := setupE2E(t)
	t.Run("ServerExportDefaultK", func(t *testing.T) {
		a := buildExport(t, env, env.partners[0], allAPITables(), true)
		if a.manifest.Tables[1].Risk.K != export.DefaultK {
			t.Errorf("k = %d, want the default %d", a.manifest.Tables[1].Risk.K, export.DefaultK)
		}
		verifyKAnonymity(t, env, a, false)
	})
	t.Run("OfflineBuildK2", func(t *testing.T) {
		// The fixtures are too small for classes of 5 across the survey's
		// quasi-identifiers; at k=2 classes survive and every check bites.
		out := filepath.Join(t.TempDir(), "export")
		if msg, err := rexport(t, context.Background(), "build", "--source", filepath.Join(env.dir, "source.db"), "--partner", env.partners[0],
			"--free-text", "--sensitive", "--k", "2", "--l", "1", "--out", out, "--data", filepath.Join(env.dir, "data")); err != nil {
			t.Fatalf("rexport build: %v\n%s", err, msg)
		}
		b := &builtExport{partner: env.partners[0], tables: map[string]arrow.Table{}}
		raw, err := os.ReadFile(filepath.Join(out, export.ManifestName))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &b.manifest); err != nil {
			t.Fatal(err)
		}
		for _, mt := range b.manifest.Tables {
			data, err := os.ReadFile(filepath.Join(out, mt.File))
			if err != nil {
				t.Fatal(err)
			}
			b.tables[mt.Name] = readParquet(t, data)
		}
		verifyKAnonymity(t, env, b, true)
	})
	t.Run("OfflineSurveyOnlyConsent", func(t *testing.T) {
		// Without the learners table to join, k=2 classes keep consented
		// sensitive values, so the consent rule has values to bite on.
		out := filepath.Join(t.TempDir(), "export")
		if msg, err := rexport(t, context.Background(), "build", "--source", filepath.Join(env.dir, "source.db"), "--partner", env.partners[0],
			"--tables", "survey_demographics", "--sensitive", "--k", "2", "--l", "1", "--out", out, "--data", filepath.Join(env.dir, "data")); err != nil {
			t.Fatalf("rexport build: %v\n%s", err, msg)
		}
		b := &builtExport{partner: env.partners[0], tables: map[string]arrow.Table{}}
		data, err := os.ReadFile(filepath.Join(out, "survey_demographics.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		b.tables[export.TableSurveyDemographics] = readParquet(t, data)
		ps, err := deidentify.NewPseudonymizer(env.app.master, deidentify.KeyParams{Partner: b.partner, Scope: deidentify.ScopePartner, Version: 1})
		if err != nil {
			t.Fatal(err)
		}
		checkConsent(t, env, ps, b, true)
	})
}

// verifyKAnonymity checks a built export's learners and survey tables
// against the source and the manifest.
func verifyKAnonymity(t *testing.T, env *e2e, a *builtExport, requireClasses bool) {
	ps, err := deidentify.NewPseudonymizer(env.app.master, deidentify.KeyParams{Partner: a.partner, Scope: deidentify.ScopePartner, Version: a.manifest.Pseudonyms.KeyVersion})
	if err != nil {
		t.Fatal(err)
	}
	tableOf := map[string]export.ManifestTable{}
	for _, mt := range a.manifest.Tables {
		tableOf[mt.Name] = mt
	}

	t.Run("Learners", func(t *testing.T) {
		type orig struct{ band, gender, country string }
		byPseudonym := map[string]orig{}
		rows, err := env.source.Query(`SELECT learner_id, birth_date, signup_at, gender, country_code FROM learners`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, signup string
			var birth, gender, country sql.NullString
			if err := rows.Scan(&id, &birth, &signup, &gender, &country); err != nil {
				t.Fatal(err)
			}
			o := orig{gender: nullStr(gender), country: nullStr(country)}
			if birth.Valid {
				b, _ := time.Parse(export.DateLayout, birth.String)
				s, _ := time.Parse(time.RFC3339, signup)
				o.band = deidentify.AgeBand(deidentify.AgeAt(b, s))
			}
			byPseudonym[ps.Pseudonym(deidentify.KindLearner, id)] = o
		}
		rows.Close()
		tbl := a.tables[export.TableLearners]
		ids, bands, genders, countries := stringColumn(t, tbl, "learner_id"), stringColumn(t, tbl, "age_band"), stringColumn(t, tbl, "gender"), stringColumn(t, tbl, "country_code")
		var qr []qiRow
		for i, p := range ids {
			o := byPseudonym[p]
			qr = append(qr, qiRow{person: p, published: []string{bands[i], genders[i], countries[i]}, original: []string{o.band, o.gender, o.country}})
		}
		checkKAnonymity(t, tableOf[export.TableLearners], qr, []string{"age_band", "gender", "country_code"}, nil, requireClasses)
	})

	t.Run("SurveyDemographics", func(t *testing.T) {
		type orig struct {
			learner                    string
			band, gender, country, edu string
		}
		byResponse := map[string]orig{}
		rows, err := env.source.Query(`SELECT response_id, learner_id, submitted_at, year_of_birth, gender, country_code, education_level FROM survey_demographics`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, learner, at string
			var yob sql.NullInt64
			var gender, country, edu sql.NullString
			if err := rows.Scan(&id, &learner, &at, &yob, &gender, &country, &edu); err != nil {
				t.Fatal(err)
			}
			o := orig{learner: ps.Pseudonym(deidentify.KindLearner, learner), gender: nullStr(gender), country: nullStr(country), edu: nullStr(edu)}
			if yob.Valid {
				ts, _ := time.Parse(time.RFC3339, at)
				o.band = deidentify.AgeBand(deidentify.MinAgeFromYear(int(yob.Int64), ts))
			}
			byResponse[ps.Pseudonym(deidentify.KindResponse, id)] = o
		}
		rows.Close()
		// What the learners table published about each person.
		lt := a.tables[export.TableLearners]
		linked := map[string][]string{}
		lIDs, lBands, lGenders, lCountries := stringColumn(t, lt, "learner_id"), stringColumn(t, lt, "age_band"), stringColumn(t, lt, "gender"), stringColumn(t, lt, "country_code")
		for i, p := range lIDs {
			linked[p] = []string{lBands[i], lGenders[i], lCountries[i]}
		}
		tbl := a.tables[export.TableSurveyDemographics]
		cols := map[string][]string{}
		for _, c := range []string{"response_id", "learner_id", "age_band", "gender", "country_code", "education_level"} {
			cols[c] = stringColumn(t, tbl, c)
		}
		var qr []qiRow
		for i, r := range cols["response_id"] {
			o, ok := byResponse[r]
			if !ok || o.learner != cols["learner_id"][i] {
				t.Fatalf("row %d: response or learner pseudonym does not match the source", i)
			}
			qr = append(qr, qiRow{person: o.learner,
				published: []string{cols["age_band"][i], cols["gender"][i], cols["country_code"][i], cols["education_level"][i]},
				original:  []string{o.band, o.gender, o.country, o.edu},
				linked:    linked[o.learner]})
		}
		checkKAnonymity(t, tableOf[export.TableSurveyDemographics], qr, []string{"age_band", "gender", "country_code", "education_level"},
			[]string{"learners.age_band", "learners.gender", "learners.country_code"}, requireClasses)
	})

	t.Run("NoSensitiveValueWithoutConsent", func(t *testing.T) { checkConsent(t, env, ps, a, false) })
}

// checkConsent checks that no sensitive value leaves for a learner without
// consent, nor on a row whose quasi-identifiers were suppressed; with
// requireValues some value must be there to check.
func checkConsent(t *testing.T, env *e2e, ps *deidentify.Pseudonymizer, a *builtExport, requireValues bool) {
	t.Helper()
	consent := map[string]bool{}
	rows, err := env.source.Query(`SELECT learner_id, sensitive_consent FROM learners`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var c bool
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		consent[ps.Pseudonym(deidentify.KindLearner, id)] = c
	}
	rows.Close()
	tbl := a.tables[export.TableSurveyDemographics]
	ids := stringColumn(t, tbl, "learner_id")
	var qis [][]string
	for _, c := range []string{"age_band", "gender", "country_code", "education_level"} {
		qis = append(qis, stringColumn(t, tbl, c))
	}
	seen := 0
	for _, col := range []string{"ethnicity", "disability"} {
		for i, v := range stringColumn(t, tbl, col) {
			if v == "" {
				continue
			}
			seen++
			if !consent[ids[i]] {
				t.Errorf("%s row %d: a sensitive value of a learner without consent", col, i)
			}
			if qis[0][i] == "" && qis[1][i] == "" && qis[2][i] == "" && qis[3][i] == "" {
				t.Errorf("%s row %d: a sensitive value on a row whose quasi-identifiers were suppressed", col, i)
			}
		}
	}
	if seen == 0 && requireValues {
		t.Errorf("no sensitive value at all: the check proves nothing")
	}
}
