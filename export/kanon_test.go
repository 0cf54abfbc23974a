package export

import "testing"

// TestHeadlineStatsPoolSmallRegions: a region with fewer than k graded
// learners would publish their grades; it is pooled instead.
func TestHeadlineStatsPoolSmallRegions(t *testing.T) {
	h := headline{k: 3, countryBefore: map[string]string{}, countryAfter: map[string]string{}}
	add := func(id, country, published string, grade float64) {
		h.countryBefore[id], h.countryAfter[id] = country, published
		h.grades = append(h.grades, gradeRow{learner: id, grade: grade, passed: grade >= 0.5})
	}
	add("a", "NO", "NO", 0.9)
	add("b", "SE", "SE", 0.7)
	add("c", "DK", "DK", 0.5) // Northern Europe: 3 learners
	add("d", "KE", "", 0.2)   // Eastern Africa: 1 learner, suppressed
	st := h.stats()
	if *st.SharePassed.Before != 0.75 || *st.SharePassed.After != 0.75 {
		t.Errorf("share passed = %v/%v, want 0.75 before and after", *st.SharePassed.Before, *st.SharePassed.After)
	}
	if _, ok := st.MeanGradeByRegion["Eastern Africa"]; ok {
		t.Fatalf("a one-learner region is published: %+v", st.MeanGradeByRegion)
	}
	ne := st.MeanGradeByRegion["Northern Europe"]
	if ne.NBefore != 3 || ne.Before == nil || *ne.Before < 0.69 || *ne.Before > 0.71 {
		t.Errorf("Northern Europe = %+v, want the mean of 3 grades, 0.7", ne)
	}
	if other, ok := st.MeanGradeByRegion[otherRegions]; ok {
		t.Errorf("a pooled group of fewer than k learners is published: %+v", other)
	}
	add("e", "NG", "NG", 0.4)
	add("f", "GH", "GH", 0.6) // with Kenya: 3 learners in small regions
	st = h.stats()
	if other := st.MeanGradeByRegion[otherRegions]; other.NBefore != 3 || other.Before == nil || *other.Before < 0.39 || *other.Before > 0.41 {
		t.Errorf("pooled group = %+v, want 3 learners averaging 0.4", other)
	}
}
