package main

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rexport/rexport/deidentify"
	"github.com/rexport/rexport/export"
)

// qiRow is one output row's quasi-identifiers: as published and as they
// were in the source (after the policy's own generalisation to bands).
type qiRow struct {
	person    string
	published []string
	original  []string
}

// checkKAnonymity recomputes, from the file and the source, what the
// manifest's risk report claims, and checks the k property itself.
func checkKAnonymity(t *testing.T, mt export.ManifestTable, rows []qiRow, qiNames []string) {
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
	classes := map[string]map[string]bool{} // published tuple -> people
	suppressed := make([]bool, len(rows))
	zeroPeople := map[string]bool{} // people whose original QIs are all null
	for i, row := range rows {
		if allNull(row.published) {
			if !allNull(row.original) {
				suppressed[i] = true
			} else {
				zeroPeople[row.person] = true
			}
			continue
		}
		key := strings.Join(row.published, "\x00")
		if classes[key] == nil {
			classes[key] = map[string]bool{}
		}
		classes[key][row.person] = true
	}
	hist := map[string]int{}
	kAchieved := 0
	sizeOf := map[string]int{}
	for key, people := range classes {
		n := len(people)
		if n < k {
			t.Errorf("%s: the combination %q is shared by %d people, fewer than k=%d", mt.Name, strings.ReplaceAll(key, "\x00", " | "), n, k)
		}
		hist[fmt.Sprint(n)]++
		sizeOf[key] = n
		if kAchieved == 0 || n < kAchieved {
			kAchieved = n
		}
	}
	if n := len(zeroPeople); n >= k {
		// The people with nothing known form a class of their own.
		hist[fmt.Sprint(n)]++
		sizeOf[""] = n
		if kAchieved == 0 || n < kAchieved {
			kAchieved = n
		}
	}
	if diff := cmp.Diff(hist, r.ClassSizeHistogram); diff != "" {
		t.Errorf("%s: class size histogram mismatch (-recomputed +manifest):\n%s", mt.Name, diff)
	}
	if r.KAchieved != kAchieved {
		t.Errorf("%s: manifest k_achieved %d, recomputed %d", mt.Name, r.KAchieved, kAchieved)
	}
	gen, sup := map[string]map[string]bool{}, map[string]map[string]bool{}
	var below, counted int
	for i, row := range rows {
		for j, name := range qiNames {
			if row.original[j] == "" {
				continue
			}
			if suppressed[i] {
				if sup[name] == nil {
					sup[name] = map[string]bool{}
				}
				sup[name][row.person] = true
			} else if row.published[j] != row.original[j] {
				if gen[name] == nil {
					gen[name] = map[string]bool{}
				}
				gen[name][row.person] = true
			}
		}
		if !suppressed[i] && !(allNull(row.published) && len(zeroPeople) < k) {
			counted++
			if sizeOf[strings.Join(row.published, "\x00")] < 2*k {
				below++
			}
		}
	}
	for _, name := range qiNames {
		if got, want := r.SuppressedPeople[name], len(sup[name]); got != want {
			t.Errorf("%s.%s: manifest says %d people suppressed, recomputed %d", mt.Name, name, got, want)
		}
		if got, want := r.GeneralisedPeople[name], len(gen[name]); got != want {
			t.Errorf("%s.%s: manifest says %d people generalised, recomputed %d", mt.Name, name, got, want)
		}
	}
	if counted > 0 {
		if want := float64(below) / float64(counted); fmt.Sprintf("%.9f", want) != fmt.Sprintf("%.9f", r.ShareRecordsBelow2K) {
			t.Errorf("%s: share below 2k: manifest %v, recomputed %v", mt.Name, r.ShareRecordsBelow2K, want)
		}
	}
}

func nullStr(ns sql.NullString) string { return ns.String }

func TestKAnonymityOnRealOutput(t *testing.T) {
	env := setupE2E(t)
	a := buildExport(t, env, env.partners[0], allAPITables(), true)
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
		checkKAnonymity(t, tableOf[export.TableLearners], qr, []string{"age_band", "gender", "country_code"})
		if tableOf[export.TableLearners].Risk.KAchieved == 0 {
			t.Errorf("every learner was suppressed: the check proves little")
		}
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
				original:  []string{o.band, o.gender, o.country, o.edu}})
		}
		checkKAnonymity(t, tableOf[export.TableSurveyDemographics], qr, []string{"age_band", "gender", "country_code", "education_level"})
	})

	t.Run("NoSensitiveValueWithoutConsent", func(t *testing.T) {
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
			}
		}
		if seen == 0 {
			t.Errorf("no sensitive value at all: the check proves nothing")
		}
	})
}
