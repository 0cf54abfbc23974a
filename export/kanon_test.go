package export

import "testing"

// TestHeadlineStatsPoolSmallRegions: a region with fewer than k graded
// learners would publish their grades; it is pooled instead.
func TestHeadlineStatsPoolSmallRegions(t *testing.T) {
	h := headline{k: 3, learners: newPublishedQIs(1)}
	add := func(id, country, published string, grade float64) {
		h.learners.add(id, []string{"1990", country}, []string{"1990s", published})
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

// TestPublishedQIs: what the learners table published reads back per
// learner, with values and combinations held once.
func TestPublishedQIs(t *testing.T) {
	p := newPublishedQIs(1)
	p.add("a", []string{"1991", "NO"}, []string{"1990s", "NO"})
	p.add("b", []string{"1992", "NO"}, []string{"1990s", "NO"})
	p.add("c", []string{"1993", "KE"}, []string{"1990s", ""})
	p.add("d", []string{"1993", "K"}, []string{"1990s\x00", ""}) // not the same tuple as c's
	p.add("e", []string{"1993", "K"}, []string{"1990s", "\x00"}) // nor d's
	for person, want := range map[string][3]string{"a": {"1990s|NO", "NO", "NO"}, "b": {"1990s|NO", "NO", "NO"}, "c": {"1990s|", "KE", ""}, "d": {"1990s\x00|", "K", ""}, "e": {"1990s|\x00", "K", "\x00"}} {
		got := p.linked(person)
		if len(got) != 2 || got[0]+"|"+got[1] != want[0] {
			t.Errorf("linked(%s) = %q, want %s", person, got, want[0])
		}
		if b, a := p.countries(person); b != want[1] || a != want[2] {
			t.Errorf("countries(%s) = %q, %q, want %q, %q", person, b, a, want[1], want[2])
		}
	}
	if got := p.linked("z"); got != nil {
		t.Errorf("linked of an unpublished learner = %q", got)
	}
	if b, a := p.countries("z"); b != "" || a != "" {
		t.Errorf("countries of an unpublished learner = %q, %q", b, a)
	}
	if len(p.tuples) != 4 {
		t.Errorf("%d tuples held, want 4", len(p.tuples))
	}
}
