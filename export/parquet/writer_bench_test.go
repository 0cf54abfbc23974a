package parquet_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// quizColumns is shaped like quiz_submissions as a build writes it.
var quizColumns = []export.Column{
	{Name: "submission", Type: export.TypeString},
	{Name: "learner", Type: export.TypeString},
	{Name: "course_id", Type: export.TypeString},
	{Name: "submitted_at", Type: export.TypeTimestamp},
	{Name: "score", Type: export.TypeFloat64},
	{Name: "attempt", Type: export.TypeInt64},
	{Name: "passed", Type: export.TypeBool},
	{Name: "feedback", Type: export.TypeString, Nullable: true},
}

// pseudonym returns a 43-character pseudonym, like the ones
// de-identification makes.
func pseudonym(kind string, i int) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(i))
	sum := sha256.Sum256(append([]byte(kind), b[:]...))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// quizRows returns n rows of quizColumns: submissions are nearly unique
// (written plain), learners repeat (dictionary), two courses, a third of
// the feedback is null.
func quizRows(n int) []export.Row {
	learners := make([]string, 3000)
	for i := range learners {
		learners[i] = pseudonym("learner", i)
	}
	courses := []string{"course-v1:Uni+CS101+2024", "course-v1:Uni+MA201+2024"}
	rows := make([]export.Row, n)
	for i := range rows {
		var feedback any
		if i%3 != 0 {
			feedback = fmt.Sprintf("feedback on answer %d: try again", i)
		}
		rows[i] = export.Row{
			pseudonym("submission", i*9/10), // some resubmissions
			learners[(i*7919)%len(learners)],
			courses[i%2],
			ts0.Add(time.Duration(i) * 1234567 * time.Microsecond),
			float64(i%101) / 100,
			int64(i%4 + 1),
			i%5 != 0,
			feedback,
		}
	}
	return rows
}

// BenchmarkWriterQuiz writes 200k quiz submissions to one file.
func BenchmarkWriterQuiz(b *testing.B) {
	rows := quizRows(200_000)
	b.ReportAllocs()
	for b.Loop() {
		w, err := parquet.NewWriter(io.Discard, quizColumns, parquet.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
