package postgres

import (
	"context"
	"testing"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/fixtures"
	"github.com/rexport/rexport/internal/pgtest"
	"github.com/rexport/rexport/source/internal/sourcetest"
)

const benchLearners = 2000

// BenchmarkLoad measures a load of generated data, a new database each
// time.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	var rows int
	fixtures.Generate(fixtures.Config{Learners: benchLearners, Seed: 1}, func(string, export.Row) error { rows++; return nil })
	for b.Loop() {
		b.StopTimer()
		db, err := Open(ctx, pgtest.NewDatabase(b))
		if err == nil {
			err = db.Migrate(ctx)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sourcetest.LoadFixtures(b, sourcetest.Loader(db.Load), fixtures.Config{Learners: benchLearners, Seed: 1})
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkScan measures a Scan of the largest table through the cursor.
func BenchmarkScan(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(b))
	if err == nil {
		err = db.Migrate(ctx)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	courses := sourcetest.LoadFixtures(b, sourcetest.Loader(db.Load), fixtures.Config{Learners: benchLearners, Seed: 1})
	q := export.SourceQuery{Table: export.TableQuizSubmissions, Courses: courses}
	var rows int
	for b.Loop() {
		if err := db.Scan(ctx, q, func(export.SourceRow) error { rows++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
