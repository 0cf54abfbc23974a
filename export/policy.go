package export

import (
	"fmt"

	"github.com/rexport/rexport/deidentify"
)

// PolicyVersion names the column policy below; manifests record it so a
// reviewer can tell which rules an export was built under.
const PolicyVersion = "2026-11.1"

// Treatment is what the build does with a source column.
type Treatment string

// The treatments. Every source column has exactly one.
const (
	// Drop: the column never leaves.
	Drop Treatment = "drop"
	// Keep: the value leaves as it is.
	Keep Treatment = "keep"
	// Pseudonymize: the identifier becomes a keyed pseudonym.
	Pseudonymize Treatment = "pseudonymize"
	// Generalize: the value leaves coarsened (Generalization says how).
	Generalize Treatment = "generalize"
	// Scrub: free text; leaves only if the request asks for free text and
	// the agreement allows it, and then with personal data removed.
	Scrub Treatment = "scrub"
	// Sensitive: a sensitive category; leaves only if the request asks for
	// it, the agreement allows it and the learner consented, else null.
	Sensitive Treatment = "sensitive"
)

// Generalisations a Generalize treatment can name.
const (
	// GenAgeBandAtSignup turns a birth date into the 5-year age band at the
	// account's creation, 90+ top-coded.
	GenAgeBandAtSignup = "age_band_at_signup"
	// GenAgeBandFromYear turns a year of birth into the 5-year band of the
	// youngest age possible at the row's time, 90+ top-coded.
	GenAgeBandFromYear = "age_band_from_year"
	// GenDay truncates a timestamp to its UTC day.
	GenDay = "day"
)

// ColumnPolicy is the treatment of one source column.
type ColumnPolicy struct {
	Treatment Treatment
	// Kind is the pseudonym kind, for Pseudonymize.
	Kind deidentify.Kind
	// Generalization names the generalisation, for Generalize.
	Generalization string
	// Output renames the column in the dataset (empty keeps the name).
	Output string
	// Doc describes the output column for the data dictionary; empty uses
	// the source column's Doc.
	Doc string
	// QuasiIdentifier names the generalisation ladder of a column that,
	// combined with others, could single a person out; such columns are
	// k-anonymised together per table. Empty for other columns.
	QuasiIdentifier string
}

// Quasi-identifier ladders.
const (
	QICountry  = "country"  // country, UN sub-region, continent
	QIAgeBand  = "age_band" // 5-year band, 10-year band
	QIIdentity = "identity" // no coarser form: suppression only
)

func ladder(name string) ([]deidentify.Step, bool) {
	switch name {
	case QICountry:
		return deidentify.CountryLadder(), true
	case QIAgeBand:
		return deidentify.AgeBandLadder(), true
	case QIIdentity:
		return deidentify.IdentityLadder(), true
	}
	return nil, false
}

// Policy maps table and column to a treatment.
type Policy map[string]map[string]ColumnPolicy

var (
	keep      = ColumnPolicy{Treatment: Keep}
	drop      = ColumnPolicy{Treatment: Drop}
	scrub     = ColumnPolicy{Treatment: Scrub}
	learner   = ColumnPolicy{Treatment: Pseudonymize, Kind: deidentify.KindLearner, Doc: "Learner pseudonym: the same learner has the same value in every table of the export."}
	sensCol   = ColumnPolicy{Treatment: Sensitive}
	qiGender  = ColumnPolicy{Treatment: Keep, QuasiIdentifier: QIIdentity, Doc: "Self-described gender; null where k-anonymity suppressed it."}
	qiCountry = ColumnPolicy{Treatment: Keep, QuasiIdentifier: QICountry,
		Doc: "Country (ISO 3166-1 alpha-2), or its UN sub-region or continent where k-anonymity needs it; null if unknown or suppressed."}
	postPseu = ColumnPolicy{Treatment: Pseudonymize, Kind: deidentify.KindPost}
)

// DefaultPolicy is the column policy of this version of rexport.
var DefaultPolicy = Policy{
	TableCourses: {
		"course_id": keep, "partner_id": keep, "slug": keep, "title": keep, "start_date": keep,
	},
	TableLearners: {
		"learner_id": learner,
		"full_name":  drop, "email": drop, "username": drop,
		"birth_date": {Treatment: Generalize, Generalization: GenAgeBandAtSignup, Output: "age_band", QuasiIdentifier: QIAgeBand,
			Doc: "Age band at signup: 5-year bands (10-year where k-anonymity needs it), 90+ top-coded; null if unknown or suppressed."},
		"gender": qiGender, "country_code": qiCountry,
		"city": drop, "postal_code": drop, "last_ip": drop,
		"signup_at": {Treatment: Generalize, Generalization: GenDay, Output: "signup_date",
			Doc: "Day (UTC) the account was created."},
		"research_opt_out": drop, "sensitive_consent": drop, "deleted_at": drop,
	},
	TableEnrollments: {
		"learner_id": learner, "course_id": keep, "enrolled_at": keep, "role": keep,
	},
	TableQuizSubmissions: {
		"submission_id": {Treatment: Pseudonymize, Kind: deidentify.KindSubmission},
		"learner_id":    learner, "course_id": keep, "quiz_id": keep, "question_id": keep,
		"attempt": keep, "submitted_at": keep, "response_text": scrub,
		"score": keep, "max_score": keep, "client_ip": drop,
	},
	TableGrades: {
		"learner_id": learner, "course_id": keep, "grade": keep, "passed": keep,
		"completed_at": keep, "graded_at": keep,
	},
	TableForumPosts: {
		"post_id":        postPseu,
		"thread_id":      {Treatment: Pseudonymize, Kind: deidentify.KindThread},
		"parent_post_id": postPseu,
		"learner_id":     learner, "course_id": keep, "posted_at": keep,
		"title": scrub, "body": scrub, "upvotes": keep,
	},
	TableSurveyDemographics: {
		"response_id": {Treatment: Pseudonymize, Kind: deidentify.KindResponse},
		"learner_id":  learner, "course_id": keep, "submitted_at": keep,
		"year_of_birth": {Treatment: Generalize, Generalization: GenAgeBandFromYear, Output: "age_band", QuasiIdentifier: QIAgeBand,
			Doc: "Age band when the survey was answered (from year of birth: youngest possible age), 5-year bands (10-year where k-anonymity needs it), 90+ top-coded."},
		"gender": qiGender, "country_code": qiCountry,
		"education_level":   {Treatment: Keep, QuasiIdentifier: QIIdentity, Doc: "Highest education level; null where k-anonymity suppressed it."},
		"employment_status": keep, "english_proficiency": keep,
		"ethnicity": sensCol, "disability": sensCol, "comment": scrub,
	},
}

// Check verifies that every column of every source table has a treatment
// and that no treatment names a column the schema lacks: a new warehouse
// column is a build error, never a pass-through.
func (p Policy) Check(tables []Table) error {
	for _, t := range tables {
		cols, ok := p[t.Name]
		if !ok {
			return fmt.Errorf("policy %s: table %s has no treatments", PolicyVersion, t.Name)
		}
		for _, c := range t.Columns {
			cp, ok := cols[c.Name]
			if !ok {
				return fmt.Errorf("policy %s: column %s.%s has no treatment", PolicyVersion, t.Name, c.Name)
			}
			if err := cp.check(c); err != nil {
				return fmt.Errorf("policy %s: column %s.%s: %w", PolicyVersion, t.Name, c.Name, err)
			}
		}
		for name := range cols {
			if _, ok := t.Column(name); !ok {
				return fmt.Errorf("policy %s: treatment for unknown column %s.%s", PolicyVersion, t.Name, name)
			}
		}
	}
	return nil
}

func (cp ColumnPolicy) check(c Column) error {
	switch cp.Treatment {
	case Drop, Keep:
	case Pseudonymize:
		if c.Type != TypeString || !cp.Kind.Valid() {
			return fmt.Errorf("pseudonymize needs a string column and a kind")
		}
	case Scrub, Sensitive:
		if c.Type != TypeString {
			return fmt.Errorf("%s needs a string column", cp.Treatment)
		}
	case Generalize:
		want := map[string]ColumnType{GenAgeBandAtSignup: TypeDate, GenAgeBandFromYear: TypeInt64, GenDay: TypeTimestamp}
		if typ, ok := want[cp.Generalization]; !ok || typ != c.Type {
			return fmt.Errorf("generalization %q does not apply to a %s column", cp.Generalization, c.Type)
		}
	default:
		return fmt.Errorf("unknown treatment %q", cp.Treatment)
	}
	if cp.QuasiIdentifier != "" {
		if _, ok := ladder(cp.QuasiIdentifier); !ok {
			return fmt.Errorf("unknown quasi-identifier ladder %q", cp.QuasiIdentifier)
		}
		if cp.Treatment != Keep && cp.Treatment != Generalize {
			return fmt.Errorf("a quasi-identifier must be kept or generalised")
		}
	}
	return nil
}
