package export

import (
	"strings"
	"testing"
	"time"
)

func TestValidateRequest(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	partner := Partner{ID: "p1", Courses: []string{"c1", "c2"}, DUA: DUA{
		AllowedTables: []string{TableGrades, TableForumPosts}, AllowFreeText: true, EndsOn: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}}
	valid := func() Request {
		return Request{Title: "t", Purpose: "p", Courses: []string{"c2", "c1", "c2"}, Tables: []string{TableForumPosts, TableGrades}}
	}
	t.Run("NormalisesValid", func(t *testing.T) {
		r := valid()
		if err := ValidateRequest(&r, partner, now); err != nil {
			t.Fatal(err)
		}
		if strings.Join(r.Courses, ",") != "c1,c2" || strings.Join(r.Tables, ",") != "grades,forum_posts" || r.Linkage != LinkagePartner {
			t.Errorf("normalised to %+v", r)
		}
	})
	tests := []struct {
		name   string
		modify func(*Request)
		now    time.Time
		code   string
		field  string
	}{
		{"NoTitle", func(r *Request) { r.Title = "  " }, now, EINVALID, "title"},
		{"NoPurpose", func(r *Request) { r.Purpose = "" }, now, EINVALID, "purpose"},
		{"NoCourses", func(r *Request) { r.Courses = nil }, now, EINVALID, "courses"},
		{"ForeignCourse", func(r *Request) { r.Courses = []string{"c1", "c9"} }, now, EINVALID, "courses[1]"},
		{"UnknownTable", func(r *Request) { r.Tables = []string{"secrets"} }, now, EINVALID, "tables[0]"},
		{"TableOutsideDUA", func(r *Request) { r.Tables = []string{TableGrades, TableLearners} }, now, EINVALID, "tables[1]"},
		{"ToBeforeFrom", func(r *Request) { r.From, r.To = now, now.Add(-time.Hour) }, now, EINVALID, "to"},
		{"ToEqualsFrom", func(r *Request) { r.From, r.To = now, now }, now, EINVALID, "to"},
		{"SensitiveOutsideDUA", func(r *Request) { r.IncludeSensitive = true }, now, EINVALID, "include_sensitive"},
		{"BadLinkage", func(r *Request) { r.Linkage = "global" }, now, EINVALID, "linkage"},
		{"AgreementEnded", func(r *Request) {}, time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), EFORBIDDEN, "ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.modify(&r)
			err := ValidateRequest(&r, partner, tt.now)
			if ErrorCode(err) != tt.code || !strings.Contains(ErrorMessage(err), tt.field) {
				t.Errorf("err = %v, want %s naming %q", err, tt.code, tt.field)
			}
		})
	}
}

func TestExclusionReason(t *testing.T) {
	grades, _ := SourceTable(TableGrades)
	survey, _ := SourceTable(TableSurveyDemographics)
	learners, _ := SourceTable(TableLearners)
	birth := time.Date(2012, 2, 29, 0, 0, 0, 0, time.UTC) // turns 13 on 2025-03-01
	gradeRow := func(at time.Time) Row {
		return Row{"l", "c", 0.5, true, nil, at}
	}
	surveyRow := func(at time.Time, yob any) Row {
		r := make(Row, len(survey.Columns))
		r[survey.ColumnIndex("submitted_at")] = at
		r[survey.ColumnIndex("year_of_birth")] = yob
		return r
	}
	tests := []struct {
		name  string
		table Table
		row   SourceRow
		want  string
	}{
		{"Adult", grades, SourceRow{Row: gradeRow(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)), Learner: LearnerFacts{BirthDate: birth}}, ""},
		{"DayBefore13th", grades, SourceRow{Row: gradeRow(time.Date(2025, 2, 28, 23, 59, 0, 0, time.UTC)), Learner: LearnerFacts{BirthDate: birth}}, ExcludedUnder13},
		{"DeletedBeatsOptOut", grades, SourceRow{Row: gradeRow(time.Now()), Learner: LearnerFacts{Deleted: true, OptedOut: true}}, ExcludedDeleted},
		{"OptedOut", grades, SourceRow{Row: gradeRow(time.Now()), Learner: LearnerFacts{OptedOut: true}}, ExcludedOptedOut},
		{"UnknownAgeKeptOutsideDemographics", grades, SourceRow{Row: gradeRow(time.Now())}, ""},
		{"UnknownAgeExcludedFromDemographics", survey, SourceRow{Row: surveyRow(time.Now(), nil)}, ExcludedUnknownAge},
		{"YearOfBirthMaybeUnder13", survey, SourceRow{Row: surveyRow(time.Date(2025, 12, 30, 0, 0, 0, 0, time.UTC), int64(2012))}, ExcludedUnder13},
		{"YearOfBirthCertainly13", survey, SourceRow{Row: surveyRow(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), int64(2012))}, ""},
		{"LearnersUseSignup", learners, SourceRow{Row: make(Row, len(learners.Columns)), Learner: LearnerFacts{BirthDate: birth, SignupAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}, ExcludedUnder13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExclusionReason(tt.table, tt.row); got != tt.want {
				t.Errorf("ExclusionReason = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCreatePartnerRefusesWeakerAgreement(t *testing.T) {
	svc := &Service{}
	admin := Principal{ID: "a", Role: RoleAdmin}
	_, err := svc.CreatePartner(t.Context(), admin, Partner{ID: "p1", Name: "P", Courses: []string{"c"}, DUA: DUA{K: 3}})
	if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "dua.k") {
		t.Errorf("k=3: err = %v, want invalid naming dua.k", err)
	}
	_, err = svc.CreatePartner(t.Context(), admin, Partner{ID: "p1", Name: "P", Courses: []string{"c"}, DUA: DUA{FinestTimePrecision: "minute"}})
	if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "finest_time_precision") {
		t.Errorf("minute precision: err = %v, want invalid naming dua.finest_time_precision", err)
	}
}
