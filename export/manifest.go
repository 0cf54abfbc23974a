package export

import (
	"fmt"
	"strings"
	"time"

	"github.com/rexport/rexport/deidentify"
)

// ManifestName is the file name of an export's manifest.
const ManifestName = "manifest.json"

// Manifest describes a built export: what it holds and what was done to
// it. It names the pseudonym key version and scope, never key material.
type Manifest struct {
	ExportID         string             `json:"export_id"`
	Partner          string             `json:"partner"`
	Title            string             `json:"title"`
	Courses          []string           `json:"courses"`
	From             *time.Time         `json:"from,omitempty"`
	To               *time.Time         `json:"to,omitempty"`
	IncludeFreeText  bool               `json:"include_free_text"`
	IncludeSensitive bool               `json:"include_sensitive"`
	TimePrecision    string             `json:"time_precision"`
	DateShiftDays    int                `json:"date_shift_days"`
	Tables           []ManifestTable    `json:"tables"`
	PolicyVersion    string             `json:"policy_version"`
	Pseudonyms       ManifestPseudonyms `json:"pseudonyms"`
	// ExcludedLearners counts the learners who had rows withheld, by the
	// strongest reason.
	ExcludedLearners map[string]int64 `json:"excluded_learners"`
	// HeadlineStatistics compare the data before and after
	// de-identification (when the export has learners and grades).
	HeadlineStatistics *HeadlineStats `json:"headline_statistics,omitempty"`
	// Series says which run of a recurring request this is, its watermark
	// and the erasures since the earlier runs.
	Series *SeriesRun `json:"series,omitempty"`
	// Documents are the data dictionary files written with the tables.
	Documents   []File    `json:"documents"`
	GeneratedAt time.Time `json:"generated_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// ManifestPseudonyms says how identifiers were pseudonymised.
type ManifestPseudonyms struct {
	Algorithm  string `json:"algorithm"`
	Scope      string `json:"scope"`
	KeyVersion int    `json:"key_version"`
}

// ManifestTable is one dataset file.
type ManifestTable struct {
	Name    string           `json:"name"`
	File    string           `json:"file"`
	Rows    int64            `json:"rows"`
	Size    int64            `json:"size"`
	SHA256  string           `json:"sha256"`
	Columns []ManifestColumn `json:"columns"`
	// Risk is the re-identification risk report of a table with
	// quasi-identifiers: k achieved, class sizes, what was generalised and
	// suppressed.
	Risk *deidentify.RiskReport `json:"risk,omitempty"`
}

// ManifestColumn is one column of a dataset and the treatment it got.
type ManifestColumn struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Nullable  bool   `json:"nullable"`
	Doc       string `json:"doc"`
	Treatment string `json:"treatment"`
	// Findings counts, for a scrubbed free-text column, what the scrubber
	// replaced, by type.
	Findings map[string]int64 `json:"findings,omitempty"`
}

// Files lists the dataset and documentation files of the manifest.
func (m *Manifest) Files() []File {
	var out []File
	for _, t := range m.Tables {
		out = append(out, File{Name: t.File, Table: t.Name, Rows: t.Rows, Size: t.Size, SHA256: t.SHA256})
	}
	return append(out, m.Documents...)
}

// Summary is a short human-readable account of the export.
func (m *Manifest) Summary() string {
	var b strings.Builder
	var rows, size int64
	for _, t := range m.Tables {
		fmt.Fprintf(&b, "  %-20s %9d rows %11d bytes  %s\n", t.Name, t.Rows, t.Size, t.File)
		rows += t.Rows
		size += t.Size
	}
	fmt.Fprintf(&b, "  %-20s %9d rows %11d bytes\n", "total", rows, size)
	var ex []string
	for _, k := range sortedReasons(m.ExcludedLearners) {
		ex = append(ex, fmt.Sprintf("%s=%d", k, m.ExcludedLearners[k]))
	}
	if len(ex) == 0 {
		ex = []string{"none"}
	}
	fmt.Fprintf(&b, "  excluded learners: %s\n", strings.Join(ex, " "))
	return b.String()
}
