package export

import (
	"slices"
	"testing"
)

// sizedSource is a Source that can tell its tables' sizes.
type sizedSource struct {
	Source
	bytes map[string]int64
}

func (s sizedSource) TableBytes(table string) int64 { return s.bytes[table] }

func TestTableOrder(t *testing.T) {
	tables := func(names ...string) []Table {
		var ts []Table
		for _, n := range names {
			tab, ok := SourceTable(n)
			if !ok {
				t.Fatalf("no table %s", n)
			}
			ts = append(ts, tab)
		}
		return ts
	}
	sizes := sizedSource{bytes: map[string]int64{
		TableCourses: 2, TableLearners: 60, TableEnrollments: 30, TableQuizSubmissions: 650,
		TableGrades: 25, TableForumPosts: 340, TableSurveyDemographics: 30,
	}}
	all := tables(TableCourses, TableLearners, TableEnrollments, TableQuizSubmissions, TableGrades, TableForumPosts, TableSurveyDemographics)
	for _, tt := range []struct {
		name     string
		tables   []Table
		src      Source
		learners int
		waits    []bool
		scrubs   []bool // nil: none
		want     []string
	}{
		{"no sizes: as given", all, nil, 1, []bool{false, false, false, false, false, false, true}, nil,
			[]string{"courses", "learners", "enrollments", "quiz_submissions", "grades", "forum_posts", "survey_demographics"}},
		{"largest first, ties as given", all, sizes, 1, []bool{false, false, false, false, false, false, true}, nil,
			[]string{"quiz_submissions", "forum_posts", "learners", "enrollments", "survey_demographics", "grades", "courses"}},
		{"learners before what waits for it", tables(TableLearners, TableSurveyDemographics, TableQuizSubmissions),
			sizedSource{bytes: map[string]int64{TableLearners: 1, TableSurveyDemographics: 500, TableQuizSubmissions: 900}}, 0, []bool{false, true, false}, nil,
			[]string{"quiz_submissions", "learners", "survey_demographics"}},
		{"no learners", tables(TableGrades, TableQuizSubmissions), sizes, -1, []bool{false, false}, nil,
			[]string{"quiz_submissions", "grades"}},
		{"free text last", all, sizes, 1, []bool{false, false, false, false, false, false, true},
			[]bool{false, false, false, true, true, true, true},
			[]string{"learners", "enrollments", "courses", "quiz_submissions", "forum_posts", "survey_demographics", "grades"}},
		{"free text last, no sizes", all, nil, 1, []bool{false, false, false, false, false, false, true},
			[]bool{false, false, false, true, true, true, true},
			[]string{"courses", "learners", "enrollments", "quiz_submissions", "grades", "forum_posts", "survey_demographics"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			scrubs := tt.scrubs
			if scrubs == nil {
				scrubs = make([]bool, len(tt.tables))
			}
			for _, i := range tableOrder(tt.tables, tt.src, tt.learners, tt.waits, scrubs) {
				got = append(got, tt.tables[i].Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}
