package deidentify

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/rexport/rexport/fixtures/scrubcorpus"
)

// evalKey is the type a gold span is scored under: PERSON splits into the
// roster's names and the names found only from context.
func evalKey(s scrubcorpus.Span) string {
	if s.Type == FindingPerson {
		if s.Roster != nil && *s.Roster {
			return "PERSON (roster)"
		}
		return "PERSON (other)"
	}
	return s.Type
}

// recallTargets are the acceptance thresholds.
var recallTargets = map[string]float64{
	FindingEmail: 0.99, FindingURL: 0.99, FindingIP: 0.99, "CREDIT_CARD": 0.99, "IBAN": 0.99,
	"NATIONAL_ID": 0.99, FindingUsername: 0.99, "PERSON (roster)": 0.99,
	FindingPhone:         0.97,
	"PERSON (other)":     0.85,
	FindingStreetAddress: 0.85,
}

const precisionTarget = 0.97

// TestScrubberOnCorpus scores the scrubber on the labelled corpus: a gold
// span counts as found when findings (of any type) cover every byte of it,
// since what matters is that it does not leave; a finding counts as
// correct when it overlaps a gold span. It prints per-type figures and
// fails below the targets.
func TestScrubberOnCorpus(t *testing.T) {
	// The labelled corpus, written for this project independently of the
	// detectors (fixtures/scrubcorpus; its own test keeps corpus.jsonl equal
	// to it).
	corpus := scrubcorpus.Generate()
	if len(corpus) < 1000 {
		t.Fatalf("corpus has %d snippets, want at least 1,000", len(corpus))
	}
	type tally struct{ gold, found int }
	recall := map[string]*tally{}
	findingsByType := map[string]*tally{} // found = correct
	var misses, falsePos []string
	for _, s := range corpus {
		var roster []Person
		for _, n := range s.Names {
			roster = append(roster, Person{Name: n})
		}
		if len(s.Usernames) > 0 {
			roster = append(roster, Person{Usernames: s.Usernames})
		}
		scrubbed, findings := NewScrubber(roster).Scrub(s.Text)
		covered := make([]bool, len(s.Text))
		for _, f := range findings {
			for i := f.Start; i < f.End; i++ {
				covered[i] = true
			}
		}
		for _, g := range s.Spans {
			k := evalKey(g)
			if recall[k] == nil {
				recall[k] = &tally{}
			}
			recall[k].gold++
			ok := true
			for i := g.Start; i < g.End; i++ {
				ok = ok && covered[i]
			}
			if ok {
				recall[k].found++
			} else {
				misses = append(misses, fmt.Sprintf("%s %s: %q in %q", s.ID, k, g.Value, s.Text))
			}
		}
		for _, f := range findings {
			if findingsByType[f.Type] == nil {
				findingsByType[f.Type] = &tally{}
			}
			findingsByType[f.Type].gold++
			hit := false
			for _, g := range s.Spans {
				hit = hit || f.Start < g.End && g.Start < f.End
			}
			if hit {
				findingsByType[f.Type].found++
			} else {
				falsePos = append(falsePos, fmt.Sprintf("%s %s: %q -> %q", s.ID, f.Type, s.Text[f.Start:f.End], scrubbed))
			}
		}
	}
	var keys []string
	for k := range recall {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "scrubber on %d snippets\n%-18s %6s %6s %7s %7s\n", len(corpus), "type", "gold", "found", "recall", "target")
	for _, k := range keys {
		r := recall[k]
		rec := float64(r.found) / float64(r.gold)
		target := recallTargets[k]
		fmt.Fprintf(&b, "%-18s %6d %6d %7.4f %7.2f\n", k, r.gold, r.found, rec, target)
		if rec < target {
			t.Errorf("%s: recall %.4f below the target %.2f", k, rec, target)
		}
	}
	for k := range recallTargets {
		if recall[k] == nil {
			t.Errorf("%s: no gold spans in the corpus", k)
		}
	}
	var all, correct int
	keys = keys[:0]
	for k := range findingsByType {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "%-18s %6s %6s %9s\n", "finding type", "count", "right", "precision")
	for _, k := range keys {
		f := findingsByType[k]
		all, correct = all+f.gold, correct+f.found
		fmt.Fprintf(&b, "%-18s %6d %6d %9.4f\n", k, f.gold, f.found, float64(f.found)/float64(f.gold))
	}
	precision := float64(correct) / float64(all)
	fmt.Fprintf(&b, "overall precision %.4f (target %.2f)\n", precision, precisionTarget)
	t.Log("\n" + b.String())
	if precision < precisionTarget {
		t.Errorf("overall precision %.4f below the target %.2f", precision, precisionTarget)
	}
	if t.Failed() || testing.Verbose() {
		limit := 40
		if os.Getenv("SCRUB_EVAL_ALL") != "" {
			limit = 1 << 30
		}
		for i, m := range misses {
			if i == limit {
				t.Logf("... %d more misses", len(misses)-limit)
				break
			}
			t.Log("miss: " + m)
		}
		for i, m := range falsePos {
			if i == limit {
				t.Logf("... %d more false positives", len(falsePos)-limit)
				break
			}
			t.Log("false positive: " + m)
		}
	}
}
