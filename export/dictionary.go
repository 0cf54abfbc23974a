package export

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Names of the documentation files written into every export.
const (
	DictionaryName = "dictionary.json"
	ReadmeName     = "README.md"
)

// Dictionary is the machine-readable data dictionary of an export: every
// output column with its type, meaning and the treatment applied.
type Dictionary struct {
	ExportID      string            `json:"export_id"`
	PolicyVersion string            `json:"policy_version"`
	Pseudonyms    string            `json:"pseudonyms"`
	Tables        []DictionaryTable `json:"tables"`
}

// DictionaryTable documents one dataset file.
type DictionaryTable struct {
	Name    string           `json:"name"`
	File    string           `json:"file"`
	Doc     string           `json:"doc"`
	Rows    int64            `json:"rows"`
	Columns []ManifestColumn `json:"columns"`
}

// dictionary derives the data dictionary from a manifest whose tables are
// written.
func dictionary(m *Manifest) Dictionary {
	d := Dictionary{
		ExportID:      m.ExportID,
		PolicyVersion: m.PolicyVersion,
		Pseudonyms:    fmt.Sprintf("%s, %s scope, key v%d", m.Pseudonyms.Algorithm, m.Pseudonyms.Scope, m.Pseudonyms.KeyVersion),
	}
	for _, t := range m.Tables {
		st, _ := SourceTable(t.Name)
		d.Tables = append(d.Tables, DictionaryTable{Name: t.Name, File: t.File, Doc: st.Doc, Rows: t.Rows, Columns: t.Columns})
	}
	return d
}

func writeDictionaryJSON(w io.Writer, d Dictionary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// writeReadme renders the dictionary and the manifest's account of what
// was done as Markdown, for the researcher who opens the folder.
func writeReadme(w io.Writer, m *Manifest, d Dictionary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Export %s\n\n", m.ExportID)
	if m.Title != "" {
		fmt.Fprintf(&b, "%s\n\n", m.Title)
	}
	fmt.Fprintf(&b, "- Partner: %s\n- Courses: %s\n", m.Partner, strings.Join(m.Courses, ", "))
	if m.From != nil || m.To != nil {
		from, to := "start", "end"
		if m.From != nil {
			from = m.From.Format(TimestampLayout)
		}
		if m.To != nil {
			to = m.To.Format(TimestampLayout)
		}
		fmt.Fprintf(&b, "- Window: %s (inclusive) to %s (exclusive)\n", from, to)
	}
	fmt.Fprintf(&b, "- Generated: %s; expires: %s (files are deleted then)\n", m.GeneratedAt.Format(TimestampLayout), m.ExpiresAt.Format(TimestampLayout))
	fmt.Fprintf(&b, "- Policy version: %s\n- Pseudonyms: %s\n", m.PolicyVersion, d.Pseudonyms)
	fmt.Fprintf(&b, "- Free text: %s; sensitive categories: %s\n\n", yesNo(m.IncludeFreeText, "included, scrubbed", "not included"),
		yesNo(m.IncludeSensitive, "included for consenting learners only", "not included"))
	b.WriteString("Learners who opted out of research, deleted accounts and anyone under 13 at the time of a row are not in any file.\n")
	if len(m.ExcludedLearners) > 0 {
		var parts []string
		for _, k := range sortedReasons(m.ExcludedLearners) {
			parts = append(parts, fmt.Sprintf("%s %d", k, m.ExcludedLearners[k]))
		}
		fmt.Fprintf(&b, "Learners with rows withheld, by reason: %s.\n", strings.Join(parts, ", "))
	}
	b.WriteString("Identifiers with the same pseudonym refer to the same person or object in every table of this export.\n")
	for _, mt := range m.Tables {
		if r := mt.Risk; r != nil {
			fmt.Fprintf(&b, "\n%s: k-anonymity k=%d (achieved %d), l-diversity l=%d over %d people; generalisation %v; people suppressed per column %v; %.1f%% of records in classes smaller than 2k.\n",
				mt.Name, r.K, r.KAchieved, r.L, r.People, r.Ladder, r.SuppressedPeople, 100*r.ShareRecordsBelow2K)
		}
	}
	if h := m.HeadlineStatistics; h != nil && h.SharePassed.Before != nil {
		fmt.Fprintf(&b, "\nShare of grades passed: %.3f before and after de-identification (no row is dropped). Mean grade by region before/after generalisation is in manifest.json (headline_statistics).\n", *h.SharePassed.Before)
	}
	if sr := m.Series; sr != nil {
		fmt.Fprintf(&b, "\nRun %d of recurring request %s; watermark %s (the next run starts there). Learners of earlier runs to erase: %d (listed in manifest.json, series.erasures).\n",
			sr.Run, sr.SeriesID, sr.Watermark.Format(TimestampLayout), len(sr.Erasures))
	}
	b.WriteString("\n## Using and citing this data\n\n")
	fmt.Fprintf(&b, "The data-use agreement of partner %s governs this export: keep it where the agreement says, do not try to re-identify anyone, and delete it by %s. ", m.Partner, m.ExpiresAt.Format(DateLayout))
	b.WriteString("When learners are later deleted or opt out, `GET /v1/exports/{id}/erasures` lists the pseudonyms whose rows you must delete.\n\n")
	fmt.Fprintf(&b, "Cite it as: %s, %q, de-identified research export %s (policy %s), generated %s by rexport.\n",
		m.Partner, m.Title, m.ExportID, m.PolicyVersion, m.GeneratedAt.Format(DateLayout))
	for _, t := range d.Tables {
		fmt.Fprintf(&b, "\n## %s (`%s`, %d rows)\n\n%s\n\n", t.Name, t.File, t.Rows, t.Doc)
		b.WriteString("| column | type | null | meaning | treatment |\n| --- | --- | --- | --- | --- |\n")
		for _, c := range t.Columns {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Name, c.Type, yesNo(c.Nullable, "yes", "no"), mdCell(c.Doc), mdCell(c.Treatment))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func yesNo(v bool, yes, no string) string {
	if v {
		return yes
	}
	return no
}

func mdCell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
