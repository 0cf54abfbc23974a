package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rexport/rexport/export"
)

func newBuildCmd(g *globalFlags) *cobra.Command {
	var (
		source, partner, out, linkage, from, to string
		cpuProfile, memProfile, memLimit        string
		courses, tables                         []string
		freeText, sensitive                     bool
		keyVersion, shiftDays, k, l, workers    int
		precision                               string
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build an export offline, without a server",
		Long: `Run the export pipeline directly on a source and write the Parquet files
and manifest.json into --out, exactly as the server would. For staff one-off
exports, benchmarks and tests. The master key comes from
REXPORT_MASTER_KEY or <data>/master.key (created if missing). No data-use
agreement is checked: the operator answers for the request.

--source is a SQLite source database, a PostgreSQL one (postgres://...,
read through server-side cursors), or a directory of <table>.parquet files
in the source schema (as written by rexport fixtures --format parquet or a
warehouse dump), read in place: fact tables are streamed, and a file not in
key order is sorted once into a temporary file.

--cpuprofile and --memprofile write pprof profiles of the build (go tool
pprof FILE).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if limit, auto, err := applyMemoryLimit(memLimit, 1); err != nil {
				return err
			} else if auto {
				wctx, stopWatch := context.WithCancel(ctx)
				defer stopWatch()
				go watchMemoryLimit(wctx, limit)
			}
			// The profiles cover opening the source: a Parquet source
			// loads the learner facts then.
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			var peak *heapPeak
			if memProfile != "" {
				peak = watchHeapPeak()
				defer peak.stop()
			}
			src, err := openSource(cmd.Context(), source)
			if err != nil {
				return err
			}
			defer src.Close()
			master, err := loadOrCreateMasterKey(g.dataDir, true)
			if err != nil {
				return err
			}
			req := export.Request{
				Title: "offline build", Purpose: "offline build by an operator",
				Courses: courses, Tables: tables,
				IncludeFreeText: freeText, IncludeSensitive: sensitive,
				Linkage:       export.Linkage(linkage),
				TimePrecision: precision,
				DateShiftDays: shiftDays,
			}
			if req.From, err = parseTimeFlag("from", from); err != nil {
				return err
			}
			if req.To, err = parseTimeFlag("to", to); err != nil {
				return err
			}
			all, err := src.Courses(ctx, nil)
			if err != nil {
				return err
			}
			p := export.Partner{ID: partner, DUA: export.DUA{AllowedTables: export.TableNames(), AllowFreeText: true, AllowSensitive: true,
				FinestTimePrecision: "second", K: k, L: l}}
			for _, c := range all {
				if c.PartnerID == partner {
					p.Courses = append(p.Courses, c.CourseID)
				}
			}
			if len(p.Courses) == 0 {
				return fmt.Errorf("partner %q has no courses in %s", partner, redactURL(source))
			}
			if len(req.Courses) == 0 {
				req.Courses = p.Courses
			}
			if len(req.Tables) == 0 {
				req.Tables = export.TableNames()
			}
			if err := export.ValidateRequest(&req, p, time.Now()); err != nil {
				return err
			}
			if k < 2 {
				return fmt.Errorf("--k: must be at least 2")
			}
			if workers < 0 {
				return fmt.Errorf("--workers: must be at least 0")
			}
			b := &export.Builder{Source: src, Master: master, Encoder: parquetEncoder, FileExt: ".parquet", Log: g.logger(), Workers: workers}
			in := export.BuildInput{ExportID: export.NewID(export.ExportIDPrefix), PartnerID: partner, Request: req, KeyVersion: keyVersion, DUA: p.DUA}
			progress, stop := buildProgress(ctx, cmd.ErrOrStderr(), b, in)
			m, err := b.Build(ctx, in, out, progress)
			stop()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "export %s for %s written to %s\n%s", m.ExportID, partner, out, m.Summary())
			if memProfile != "" {
				return peak.write(memProfile)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", "source.db", "source: SQLite database, postgres:// URL, or directory of <table>.parquet files")
	f.StringVar(&partner, "partner", "", "partner the export is for (required)")
	f.StringSliceVar(&courses, "courses", nil, "courses (default: all of the partner's)")
	f.StringSliceVar(&tables, "tables", nil, "tables (default: all)")
	f.BoolVar(&freeText, "free-text", false, "include scrubbed free text")
	f.BoolVar(&sensitive, "sensitive", false, "include sensitive categories (consenting learners only)")
	f.StringVar(&linkage, "linkage", "partner", "pseudonym linkage scope: partner or request")
	f.StringVar(&from, "from", "", "window start, inclusive (RFC 3339 or YYYY-MM-DD)")
	f.StringVar(&to, "to", "", "window end, exclusive (RFC 3339 or YYYY-MM-DD)")
	f.IntVar(&keyVersion, "key-version", 1, "pseudonym key version")
	f.StringVar(&precision, "time-precision", "hour", "timestamp precision: second, hour or day")
	f.IntVar(&shiftDays, "date-shift-days", 0, "shift each learner's dates by a keyed offset of up to N days (0: off)")
	f.IntVar(&k, "k", export.DefaultK, "k-anonymity level of quasi-identifiers (below 5 only for tests and agreements that say so)")
	f.IntVar(&l, "l", export.DefaultL, "l-diversity of sensitive columns")
	f.IntVar(&workers, "workers", 0, "tables built at once (0: GOMAXPROCS)")
	f.StringVar(&out, "out", "", "output directory (required)")
	f.StringVar(&memLimit, "memory-limit", "auto", memoryLimitUsage)
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the build to `FILE`")
	f.StringVar(&memProfile, "memprofile", "", "write a heap profile taken at the build's peak heap use to `FILE`")
	_ = cmd.MarkFlagRequired("partner")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// startCPUProfile starts writing a CPU profile to path; stop ends it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// heapPeak keeps the heap profile of the moment the heap in use was the
// largest, sampled every heapPeakEvery: what a build's peak memory is made
// of, which a profile taken after the build no longer shows.
type heapPeak struct {
	mu      sync.Mutex
	max     uint64
	profile bytes.Buffer
	err     error
	done    chan struct{}
	stopped sync.WaitGroup
}

const heapPeakEvery = 50 * time.Millisecond

func watchHeapPeak() *heapPeak {
	p := &heapPeak{done: make(chan struct{})}
	p.stopped.Go(func() {
		t := time.NewTicker(heapPeakEvery)
		defer t.Stop()
		for {
			p.sample()
			select {
			case <-t.C:
			case <-p.done:
				return
			}
		}
	})
	return p
}

func (p *heapPeak) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p.mu.Lock()
	defer p.mu.Unlock()
	if ms.HeapInuse <= p.max {
		return
	}
	p.max = ms.HeapInuse
	p.profile.Reset()
	p.err = pprof.Lookup("heap").WriteTo(&p.profile, 0)
}

func (p *heapPeak) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.stopped.Wait()
}

// write stops sampling and writes the peak's profile to path.
func (p *heapPeak) write(path string) error {
	p.stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("--memprofile: %w", p.err)
	}
	if err := os.WriteFile(path, p.profile.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	fmt.Fprintf(os.Stderr, "heap profile at the peak of %d MB of heap in use written to %s\n", p.max>>20, path)
	return nil
}

func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(export.DateLayout, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s: %q is neither RFC 3339 nor YYYY-MM-DD", name, v)
}

// progressLineEvery is how often a build not run on a terminal prints a
// progress line (a variable for the tests).
var progressLineEvery = 10 * time.Second

// buildProgress returns the progress callback of a build writing to w,
// and stop, to call once the build returns. On a terminal it shows a
// bar: the rows to visit are counted while the build runs, not before,
// and the bar appears once they are. The count only feeds the bar: it
// stops when the build does, and its failure is logged, not the build's.
// (A bar of unknown length is not used: its spinner reads the bar without
// a lock.) Elsewhere (a log, a pipeline) it prints a plain line every
// progressLineEvery and counts nothing.
func buildProgress(ctx context.Context, w io.Writer, b *export.Builder, in export.BuildInput) (progress func(int64), stop func()) {
	start := time.Now()
	if !isTerminal(w) {
		last := start
		return func(rows int64) {
			if now := time.Now(); now.Sub(last) >= progressLineEvery {
				last = now
				fmt.Fprintf(w, "building: %d rows visited in %s\n", rows, now.Sub(start).Round(time.Second))
			}
		}, func() {}
	}
	var (
		mu      sync.Mutex
		bar     *progressbar.ProgressBar
		visited int64
	)
	ectx, cancel := context.WithCancel(ctx)
	estimated := make(chan struct{})
	go func() {
		defer close(estimated)
		total, err := b.Estimate(ectx, in)
		if err != nil {
			if ectx.Err() == nil {
				b.Log.Warn("counting the rows to build", "err", err)
			}
			return
		}
		mu.Lock()
		defer mu.Unlock()
		bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("building"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		_ = bar.Set64(visited)
	}()
	return func(rows int64) {
			mu.Lock()
			defer mu.Unlock()
			if visited = rows; bar != nil {
				_ = bar.Set64(rows)
			}
		}, func() {
			cancel()
			<-estimated
			if bar != nil {
				_ = bar.Finish()
			}
		}
}
