package export

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rexport/rexport/deidentify"
)

// RowWriter encodes rows into a file format. Close flushes everything the
// format needs (footer) but does not close the underlying writer.
// Write must not keep the row after it returns (its values it may): the
// build reuses it.
type RowWriter interface {
	Write(Row) error
	Close() error
}

// Encoder creates a RowWriter for a dataset file with the given columns;
// meta is key-value metadata to embed in the file.
type Encoder func(w io.Writer, cols []Column, meta map[string]string) (RowWriter, error)

// DefaultRetention is how long a built export stays downloadable.
const DefaultRetention = 30 * 24 * time.Hour

// Builder runs the build pipeline: source rows -> exclusions ->
// per-column policy -> encoded files, manifest last.
type Builder struct {
	Source  Source
	Master  deidentify.MasterKey
	Encoder Encoder
	// FileExt is the extension of dataset files, e.g. ".parquet".
	FileExt   string
	Policy    Policy // nil means DefaultPolicy
	Retention time.Duration
	Now       func() time.Time
	Log       *slog.Logger
	// Workers is the number of tables built at once; 0 means
	// runtime.GOMAXPROCS(0). The files are the same for any value.
	Workers int
	// sample, if set, sees each scrubbed free-text value with the finding
	// types (previews).
	sample func(table, column, text string, types []string)
}

// BuildInput is what one build needs to know about its export.
type BuildInput struct {
	ExportID   string
	PartnerID  string
	Request    Request
	KeyVersion int
	// NotAfter, if set, caps the export's expiry: the end of the
	// partner's data-use agreement.
	NotAfter time.Time
	// DUA is the partner's agreement; its k and l set the privacy levels
	// (zero values mean the defaults).
	DUA DUA
	// Series is set for a run of a recurring request: Request's window is
	// then the run's, and pseudonyms are keyed by the series, so every run
	// gives a learner the same one.
	Series *SeriesRun
}

// SeriesRun is one run of a recurring request, as its manifest records it.
type SeriesRun struct {
	SeriesID string `json:"series_id"`
	Run      int    `json:"run"`
	// Watermark is the end of the event times this run covers; the next
	// run starts there.
	Watermark time.Time `json:"watermark"`
	// Erasures lists learners delivered by earlier runs of the series who
	// have since been deleted or opted out: the partner deletes their rows.
	Erasures []Erasure `json:"erasures"`
}

// keyRequestID is the id request-scoped pseudonym keys are derived from.
func (in BuildInput) keyRequestID() string {
	if in.Series != nil {
		return in.Series.SeriesID
	}
	return in.ExportID
}

// Exclusion reasons, as counted in the manifest.
const (
	ExcludedDeleted    = "deleted"
	ExcludedOptedOut   = "opted_out"
	ExcludedUnder13    = "under_13"
	ExcludedUnknownAge = "unknown_age"
)

// Estimate returns the number of source rows the build will visit.
func (b *Builder) Estimate(ctx context.Context, in BuildInput) (int64, error) {
	// The tables are counted at once, up to Workers, as they are built: a
	// source that must read a table to count it (a Parquet directory) would
	// otherwise hold the build up one table at a time.
	workers := b.workers()
	tables := in.Request.Tables
	counts := make([]int64, len(tables))
	errs := make([]error, len(tables))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(tables)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(tables); i = int(next.Add(1) - 1) {
				counts[i], errs[i] = b.Source.Count(ctx, b.query(in, tables[i]))
			}
		})
	}
	wg.Wait()
	var total int64
	for i := range tables {
		if errs[i] != nil {
			return 0, errs[i]
		}
		total += counts[i]
	}
	return total, nil
}

func (b *Builder) query(in BuildInput, table string) SourceQuery {
	return SourceQuery{Table: table, Courses: in.Request.Courses, From: in.Request.From, To: in.Request.To}
}

func (b *Builder) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC()
	}
	return time.Now().UTC()
}

func (b *Builder) log() *slog.Logger {
	if b.Log != nil {
		return b.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Build writes the export's dataset files and manifest.json into dir and
// returns the manifest. Each file is written under a temporary name,
// fsynced and renamed; the manifest is written last, so a directory with a
// manifest is complete. Running Build again over a crashed or finished
// build gives the same files. progress, if not nil, is called with the
// rows visited so far.
func (b *Builder) Build(ctx context.Context, in BuildInput, dir string, progress func(rows int64)) (*Manifest, error) {
	policy := b.Policy
	if policy == nil {
		policy = DefaultPolicy
	}
	if err := policy.Check(SourceTables); err != nil {
		return nil, err
	}
	if err := b.checkCourses(ctx, in); err != nil {
		return nil, err
	}
	params := keyParams(in.PartnerID, in.keyRequestID(), in.Request.Linkage, in.KeyVersion)
	pseudo, err := deidentify.NewPseudonymizer(b.Master, params)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	// A manifest from an earlier run would make a half-rebuilt directory
	// look complete: remove it first.
	// The same goes for the delivery record.
	for _, name := range []string{ManifestName, DeliveredName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	now := b.now()
	retention := b.Retention
	if retention == 0 {
		retention = DefaultRetention
	}
	m := &Manifest{
		ExportID:         in.ExportID,
		Partner:          in.PartnerID,
		Title:            in.Request.Title,
		Courses:          in.Request.Courses,
		From:             timePtr(in.Request.From),
		To:               timePtr(in.Request.To),
		IncludeFreeText:  in.Request.IncludeFreeText,
		IncludeSensitive: in.Request.IncludeSensitive,
		TimePrecision:    in.Request.TimePrecision,
		DateShiftDays:    in.Request.DateShiftDays,
		PolicyVersion:    PolicyVersion,
		Pseudonyms: ManifestPseudonyms{
			Algorithm:  "HMAC-SHA256, 160 bits, base32",
			Scope:      string(params.Scope),
			KeyVersion: in.KeyVersion,
		},
		ExcludedLearners: map[string]int64{},
		Series:           in.Series,
		GeneratedAt:      now,
		ExpiresAt:        now.Add(retention),
	}
	if !in.NotAfter.IsZero() && in.NotAfter.Before(m.ExpiresAt) {
		m.ExpiresAt = in.NotAfter
	}
	bc := &buildContext{
		Builder:   b,
		in:        in,
		dua:       in.DUA,
		pseudo:    pseudo,
		excluded:  map[string]string{},
		delivered: map[string]struct{}{},
		progress:  progress,
		// These ids repeat row after row and table after table (a
		// learner's submissions, a thread's posts): their pseudonyms are
		// remembered.
		pseudoCaches: map[deidentify.Kind]*pseudonymCache{},
	}
	for _, kind := range []deidentify.Kind{deidentify.KindLearner, deidentify.KindThread} {
		bc.pseudoCaches[kind] = newPseudonymCache(func(id string) string { return pseudo.Pseudonym(kind, id) })
	}
	// The scrubber (the roster of everyone in the courses, indexed) is
	// built while the tables without free text are: only the tables that
	// scrub wait for it.
	bc.scrubberReady = make(chan struct{})
	if in.Request.IncludeFreeText {
		sctx, cancelScrubber := context.WithCancel(ctx)
		go func() {
			defer close(bc.scrubberReady)
			bc.scrubber, bc.scrubberErr = b.scrubber(sctx, in, pseudo)
		}()
		defer func() {
			cancelScrubber()
			<-bc.scrubberReady
		}()
	} else {
		close(bc.scrubberReady)
	}
	tables := make([]Table, len(in.Request.Tables))
	for i, name := range in.Request.Tables {
		table, ok := SourceTable(name)
		if !ok {
			return nil, Errorf(EINVALID, "unknown table %q", name)
		}
		if slices.Contains(in.Request.Tables[:i], name) {
			return nil, Errorf(EINVALID, "table %q requested twice", name)
		}
		tables[i] = table
	}
	built, err := bc.buildTables(ctx, tables, policy, dir)
	if err != nil {
		return nil, err
	}
	if <-bc.scrubberReady; bc.scrubberErr != nil {
		return nil, bc.scrubberErr // even if no table had free text
	}
	// Merged in request order, so nothing below depends on which table
	// finished first.
	for _, bt := range built {
		m.Tables = append(m.Tables, *bt.manifest)
		bc.headline.grades = append(bc.headline.grades, bt.grades...)
	}
	for _, reason := range bc.excluded {
		m.ExcludedLearners[reason]++
	}
	if err := writeDelivered(dir, pseudo, bc.delivered); err != nil {
		return nil, err
	}
	bc.headline.k = bc.dua.KAnonymity()
	m.HeadlineStatistics = bc.headline.stats()
	dict := dictionary(m)
	for _, doc := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{DictionaryName, func(w io.Writer) error { return writeDictionaryJSON(w, dict) }},
		{ReadmeName, func(w io.Writer) error { return writeReadme(w, m, dict) }},
	} {
		f, err := writeDocument(dir, doc.name, doc.write)
		if err != nil {
			return nil, err
		}
		m.Documents = append(m.Documents, f)
	}
	if err := WriteFileAtomic(dir, ManifestName, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}); err != nil {
		return nil, err
	}
	return m, nil
}

// checkCourses fails closed unless every requested course exists in the
// source and belongs to the partner there too.
func (b *Builder) checkCourses(ctx context.Context, in BuildInput) error {
	courses, err := b.Source.Courses(ctx, in.Request.Courses)
	if err != nil {
		return err
	}
	owner := map[string]string{}
	for _, c := range courses {
		owner[c.CourseID] = c.PartnerID
	}
	for _, id := range in.Request.Courses {
		if owner[id] != in.PartnerID {
			return Errorf(ECONFLICT, "course %s does not belong to partner %s in the source data", id, in.PartnerID)
		}
	}
	return nil
}

// scrubber builds the free-text scrubber from the roster of everyone in the
// requested courses. A mention of a learner who may appear in the export
// becomes their pseudonym; anyone else becomes [PERSON].
func (b *Builder) scrubber(ctx context.Context, in BuildInput, pseudo *deidentify.Pseudonymizer) (*deidentify.Scrubber, error) {
	var roster []deidentify.Person
	err := b.Source.Roster(ctx, in.Request.Courses, func(e RosterEntry) error {
		p := deidentify.Person{Name: e.FullName}
		if e.Username != "" {
			p.Usernames = []string{e.Username}
		}
		if e.Email != "" {
			p.Emails = []string{e.Email}
		}
		if e.City != "" {
			p.Cities = []string{e.City}
		}
		if e.PostalCode != "" {
			p.PostalCodes = []string{e.PostalCode}
		}
		if rosterExcluded(e.Learner) == "" {
			p.Token = "[PERSON " + pseudo.Pseudonym(deidentify.KindLearner, e.Learner.LearnerID) + "]"
		}
		roster = append(roster, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deidentify.NewScrubber(roster), nil
}

// pseudonymCacheSize bounds a pseudonym cache: past it the cache starts
// over (a shard at a time), so a build's memory does not grow with its
// number of learners.
const pseudonymCacheSize = 1 << 16

// pseudonymCache remembers the pseudonyms compute gives, for one kind of
// id across a build: every column of that kind, in every table and on
// every worker, shares it. It is safe for concurrent use: ids are spread
// over shards, each with its own map and read-write lock, so that
// lookups, by far the most frequent use, seldom meet.
type pseudonymCache struct {
	compute func(string) string
	seed    maphash.Seed
	shards  [pseudonymCacheShards]pseudonymShard
}

// pseudonymCacheShards is the number of parts of a pseudonym cache.
const pseudonymCacheShards = 64

type pseudonymShard struct {
	mu sync.RWMutex
	m  map[string]any // the pseudonym, a string, as an output value: boxed once
	_  [32]byte       // to 64 bytes, a cache line: the cores' locks do not share one
}

func newPseudonymCache(compute func(string) string) *pseudonymCache {
	c := &pseudonymCache{compute: compute, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = map[string]any{}
	}
	return c
}

// get returns the pseudonym of id, as a string in an any.
func (c *pseudonymCache) get(id string) any {
	sh := &c.shards[maphash.String(c.seed, id)%pseudonymCacheShards]
	sh.mu.RLock()
	p, ok := sh.m[id]
	sh.mu.RUnlock()
	if ok {
		return p
	}
	p = c.compute(id) // outside the lock: the HMAC is the slow part
	sh.mu.Lock()
	if len(sh.m) >= pseudonymCacheSize/pseudonymCacheShards {
		clear(sh.m) // start this shard over
	}
	sh.m[id] = p
	sh.mu.Unlock()
	return p
}

// rosterExcluded is the exclusion that keeps a person's pseudonym out of
// scrubbed text: deleted, opted out, or under 13 when they signed up.
func rosterExcluded(f LearnerFacts) string {
	switch {
	case f.Deleted:
		return ExcludedDeleted
	case f.OptedOut:
		return ExcludedOptedOut
	case !f.BirthDate.IsZero() && deidentify.AgeAt(f.BirthDate, f.SignupAt) < deidentify.MinimumAge:
		return ExcludedUnder13
	}
	return ""
}

// ExclusionReason says why a source row may not leave, or "" if it may.
// The age rule uses the learner's age at the row's own time (its table's
// TimeColumn; for learners, signup). Demographics need a known age: the
// account's birth date, else the survey's year of birth (youngest possible
// age); with neither the row is excluded as unknown_age.
func ExclusionReason(t Table, sr SourceRow) string { return exclusionFor(t)(sr) }

// exclusionFor returns ExclusionReason for one table with the positions of
// the columns it reads resolved once, not per row.
func exclusionFor(t Table) func(SourceRow) string {
	if t.Name == TableCourses {
		return func(SourceRow) string { return "" }
	}
	timeCol, yearCol := -1, -1
	if t.TimeColumn != "" {
		timeCol = t.ColumnIndex(t.TimeColumn)
	}
	if t.Name == TableSurveyDemographics {
		yearCol = t.ColumnIndex("year_of_birth")
	}
	return func(sr SourceRow) string {
		f := sr.Learner
		switch {
		case f.Deleted:
			return ExcludedDeleted
		case f.OptedOut:
			return ExcludedOptedOut
		}
		ref := f.SignupAt
		if timeCol >= 0 {
			if ts, ok := sr.Row[timeCol].(time.Time); ok {
				ref = ts
			}
		}
		if !f.BirthDate.IsZero() {
			if deidentify.AgeAt(f.BirthDate, ref) < deidentify.MinimumAge {
				return ExcludedUnder13
			}
			return ""
		}
		if yearCol < 0 {
			return ""
		}
		if y, ok := sr.Row[yearCol].(int64); ok {
			if deidentify.MinAgeFromYear(int(y), ref) < deidentify.MinimumAge {
				return ExcludedUnder13
			}
			return ""
		}
		return ExcludedUnknownAge
	}
}

// exclusionRank orders reasons so a learner excluded for several is
// counted once, under the strongest.
var exclusionRank = map[string]int{ExcludedDeleted: 4, ExcludedOptedOut: 3, ExcludedUnder13: 2, ExcludedUnknownAge: 1}

type buildContext struct {
	*Builder
	in     BuildInput
	dua    DUA
	pseudo *deidentify.Pseudonymizer
	// scrubber is set (or scrubberErr) when scrubberReady is closed.
	scrubber      *deidentify.Scrubber
	scrubberErr   error
	scrubberReady chan struct{}
	// excluded maps learners with at least one excluded row to the reason;
	// it only lives in memory for the counts. mergeMu guards it and
	// delivered while tables are built.
	mergeMu  sync.Mutex
	excluded map[string]string
	// delivered holds the learners with at least one row written, for the
	// erasure list (see DeliveredName).
	delivered map[string]struct{}
	headline  headline
	// pseudoCaches holds the pseudonym cache of each kind of id that has
	// one; the map is not changed once the build starts.
	pseudoCaches map[deidentify.Kind]*pseudonymCache
	// linkedNames names the quasi-identifiers the learners table
	// published (bc.headline.learners holds their values), for the
	// tables joinable to it. Only the learners table writes them, before
	// the tables after it in the request start (see buildTables).
	linkedNames []string
	// mu serialises the calls of progress and sample, which the caller
	// need not make safe for concurrent use, and guards visited.
	mu       sync.Mutex
	visited  int64
	progress func(int64)
}

// builtTable is what building one table gives: its manifest entry and the
// per-table state that Build merges in request order.
type builtTable struct {
	manifest *ManifestTable
	// excluded and delivered are as in buildContext, for this table.
	excluded  map[string]string
	delivered map[string]struct{}
	grades    []gradeRow
}

// buildTables builds tables on up to Workers goroutines and returns them
// in the order given. A table after the learners table whose own
// k-anonymity joins the quasi-identifiers the learners table published
// waits for it; a table before it does not join them (as in a sequential
// build). Workers take the tables largest first if the Source can tell
// (TableSizer), else in the order given, but the learners table always
// before the tables that wait for it, so it is running or done when one
// does.
func (bc *buildContext) buildTables(ctx context.Context, tables []Table, policy Policy, dir string) ([]*builtTable, error) {
	workers := min(bc.workers(), len(tables))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	learners := slices.IndexFunc(tables, func(t Table) bool { return t.Name == TableLearners })
	learnersDone := make(chan struct{})
	// waits: the table joins the learners table's published
	// quasi-identifiers; scrubs: it has free text to scrub.
	waits, scrubs := make([]bool, len(tables)), make([]bool, len(tables))
	for i, t := range tables {
		plan, err := bc.plan(t, policy[t.Name])
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		waits[i] = learners >= 0 && i > learners && slices.ContainsFunc(plan, func(oc outColumn) bool { return oc.qi != "" })
		scrubs[i] = slices.ContainsFunc(plan, func(oc outColumn) bool { return oc.findings != nil })
	}
	// One worker builds the tables one after the other in the order
	// given, as a sequential build does (previews, with their samples,
	// run so).
	order := make([]int, len(tables))
	for i := range order {
		order[i] = i
	}
	if workers > 1 {
		order = tableOrder(tables, bc.Source, learners, waits, scrubs)
	}
	var (
		built    = make([]*builtTable, len(tables))
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}
	for range workers {
		wg.Go(func() {
			for {
				n := int(next.Add(1) - 1)
				if n >= len(order) {
					return
				}
				i := order[n]
				t := tables[i]
				if waits[i] {
					select {
					case <-learnersDone:
					case <-ctx.Done():
					}
				}
				if scrubs[i] {
					select {
					case <-bc.scrubberReady:
						if bc.scrubberErr != nil {
							fail(bc.scrubberErr)
						}
					case <-ctx.Done():
					}
				}
				if ctx.Err() != nil {
					fail(ctx.Err()) // an earlier failure or the caller's
					if i == learners {
						close(learnersDone)
					}
					continue
				}
				bt, err := bc.buildTable(ctx, t, policy[t.Name], dir, waits[i])
				if err != nil {
					// Cancel before releasing the tables that wait for
					// learners, so none builds without its linked
					// quasi-identifiers.
					fail(fmt.Errorf("table %s: %w", t.Name, err))
				}
				if i == learners {
					close(learnersDone)
				}
				if bt != nil {
					bc.mergeLearners(bt)
				}
				built[i] = bt
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return built, nil
}

// tableOrder returns the indexes of tables in the order to start them:
// first the tables that do not scrub free text (they need not wait for
// the scrubber), then the others; in each part largest first if src is a
// TableSizer (the order given among equals); with the learners table
// (index learners, -1 if none) moved before the first table that waits
// for it.
func tableOrder(tables []Table, src Source, learners int, waits, scrubs []bool) []int {
	order := make([]int, len(tables))
	for i := range order {
		order[i] = i
	}
	size := make([]int64, len(tables))
	if sizer, ok := src.(TableSizer); ok {
		for i, t := range tables {
			size[i] = sizer.TableBytes(t.Name)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if scrubs[a] != scrubs[b] {
			return cmp.Compare(boolRank(scrubs[a]), boolRank(scrubs[b]))
		}
		return cmp.Compare(size[b], size[a])
	})
	if learners < 0 {
		return order
	}
	l := slices.Index(order, learners)
	if w := slices.IndexFunc(order, func(i int) bool { return waits[i] }); w >= 0 && w < l {
		order = slices.Insert(slices.Delete(order, l, l+1), w, learners)
	}
	return order
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mergeLearners adds the excluded and delivered learners of a built
// table to the build's, and drops the table's own: these sets hold a
// string per learner, and the tables of a large export would otherwise
// keep one each until the end. (Merging is a union and a maximum of
// ranks, so the order tables finish in does not matter.)
func (bc *buildContext) mergeLearners(bt *builtTable) {
	bc.mergeMu.Lock()
	defer bc.mergeMu.Unlock()
	for id, reason := range bt.excluded {
		if exclusionRank[reason] > exclusionRank[bc.excluded[id]] {
			bc.excluded[id] = reason
		}
	}
	for id := range bt.delivered {
		bc.delivered[id] = struct{}{}
	}
	bt.excluded, bt.delivered = nil, nil
}

// addVisited adds n visited rows and reports the total.
func (bc *buildContext) addVisited(n int64) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	bc.visited += n
	if bc.progress != nil {
		bc.progress(bc.visited)
	}
}

// outColumn is one column of a dataset and how to compute it.
type outColumn struct {
	Column
	treatment string
	value     func(sr *SourceRow) any
	// qi names the column's quasi-identifier ladder ("" if none).
	qi string
	// sensitive marks a sensitive category (l-diversity applies).
	sensitive bool
	// findings counts the scrubber's findings by type (free text only).
	findings map[string]int64
}

// plan derives the output columns of a table from the policy and request.
func (bc *buildContext) plan(t Table, cols map[string]ColumnPolicy) ([]outColumn, error) {
	var out []outColumn
	req := bc.in.Request
	for i, c := range t.Columns {
		cp, ok := cols[c.Name]
		if !ok {
			return nil, fmt.Errorf("column %s.%s has no treatment", t.Name, c.Name)
		}
		i := i
		oc := outColumn{Column: c, qi: cp.QuasiIdentifier}
		if cp.Output != "" {
			oc.Name = cp.Output
		}
		if cp.Doc != "" {
			oc.Doc = cp.Doc
		}
		switch cp.Treatment {
		case Drop:
			continue
		case Keep:
			oc.treatment = "kept as in the source"
			oc.value = func(sr *SourceRow) any { return sr.Row[i] }
		case Pseudonymize:
			kind := cp.Kind
			oc.treatment = "pseudonym, " + bc.pseudo.Describe()
			pseudonym := func(id string) any { return bc.pseudo.Pseudonym(kind, id) }
			if c := bc.pseudoCaches[kind]; c != nil {
				pseudonym = c.get
			}
			oc.value = func(sr *SourceRow) any {
				if s, ok := sr.Row[i].(string); ok {
					return pseudonym(s)
				}
				return nil
			}
		case Scrub:
			if !req.IncludeFreeText {
				continue
			}
			oc.treatment = "free text: emails, phones, URLs, IPs, handles, street addresses and the names, usernames, cities and postal codes of everyone in the course replaced by [TYPE] tokens"
			counts := map[string]int64{}
			oc.findings = counts
			table, column := t.Name, oc.Name
			oc.value = func(sr *SourceRow) any {
				if s, ok := sr.Row[i].(string); ok {
					text, found := bc.scrubber.Scrub(s)
					for _, f := range found {
						counts[f.Type]++
					}
					if bc.sample != nil {
						bc.mu.Lock()
						bc.sample(table, column, text, findingTypes(found))
						bc.mu.Unlock()
					}
					return text
				}
				return nil
			}
		case Sensitive:
			if !req.IncludeSensitive {
				continue
			}
			oc.Nullable, oc.sensitive = true, true
			oc.treatment = "sensitive category: only with the learner's explicit consent, else null"
			oc.value = func(sr *SourceRow) any {
				if sr.Learner.SensitiveConsent {
					return sr.Row[i]
				}
				return nil
			}
		case Generalize:
			var err error
			if oc, err = generalize(t, oc, cp, i); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("column %s.%s: unknown treatment %q", t.Name, c.Name, cp.Treatment)
		}
		out = append(out, oc)
	}
	bc.applyTimeTreatments(t, out)
	return out, nil
}

// applyTimeTreatments truncates every timestamp to the request's precision
// and, when the request asks for it, shifts each learner's dates and times
// by that learner's keyed offset.
func (bc *buildContext) applyTimeTreatments(t Table, out []outColumn) {
	prec := deidentify.Precision(bc.in.Request.TimePrecision)
	if prec == "" {
		prec = deidentify.PrecisionHour
	}
	shift := bc.in.Request.DateShiftDays
	if t.Name == TableCourses {
		shift = 0 // course dates belong to no learner
	}
	for i := range out {
		oc := &out[i]
		if oc.Type != TypeTimestamp && oc.Type != TypeDate {
			continue
		}
		inner, isTimestamp := oc.value, oc.Type == TypeTimestamp
		if shift > 0 {
			oc.treatment += fmt.Sprintf("; shifted by a keyed per-learner offset of up to ±%d days (the same in every table)", shift)
		}
		if isTimestamp {
			oc.treatment += "; truncated to the " + string(prec) + " (UTC)"
		}
		oc.value = func(sr *SourceRow) any {
			v, ok := inner(sr).(time.Time)
			if !ok {
				return nil
			}
			if shift > 0 {
				v = v.AddDate(0, 0, bc.pseudo.DateShiftDays(sr.Learner.LearnerID, shift))
			}
			if isTimestamp {
				v = deidentify.TruncateTime(v, prec)
			}
			return v
		}
	}
}

func generalize(t Table, oc outColumn, cp ColumnPolicy, i int) (outColumn, error) {
	switch cp.Generalization {
	case GenAgeBandAtSignup:
		oc.Type, oc.Nullable = TypeString, true
		oc.treatment = "generalised: 5-year age band at signup, 90+ top-coded"
		oc.value = func(sr *SourceRow) any {
			birth, ok := sr.Row[i].(time.Time)
			if !ok {
				return nil
			}
			return nullIfEmpty(deidentify.AgeBand(deidentify.AgeAt(birth, sr.Learner.SignupAt)))
		}
	case GenAgeBandFromYear:
		ti := t.ColumnIndex(t.TimeColumn)
		oc.Type, oc.Nullable = TypeString, true
		oc.treatment = "generalised: 5-year age band from year of birth, 90+ top-coded"
		oc.value = func(sr *SourceRow) any {
			y, ok := sr.Row[i].(int64)
			at, ok2 := sr.Row[ti].(time.Time)
			if !ok || !ok2 {
				return nil
			}
			return nullIfEmpty(deidentify.AgeBand(deidentify.MinAgeFromYear(int(y), at)))
		}
	case GenDay:
		oc.Type = TypeDate
		oc.treatment = "generalised: truncated to the UTC day"
		oc.value = func(sr *SourceRow) any {
			ts, ok := sr.Row[i].(time.Time)
			if !ok {
				return nil
			}
			ts = ts.UTC()
			return time.Date(ts.Year(), ts.Month(), ts.Day(), 0, 0, 0, 0, time.UTC)
		}
	default:
		return oc, fmt.Errorf("column %s.%s: unknown generalisation %q", t.Name, oc.Name, cp.Generalization)
	}
	return oc, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const progressEvery = 5000

// buildTable writes one table's file. It may run concurrently with the
// building of other tables: it writes only its own state, and the
// learners table alone writes the linked quasi-identifiers and headline
// countries. linked says the table's k-anonymity joins those
// quasi-identifiers (the learners table is built).
func (bc *buildContext) buildTable(ctx context.Context, t Table, cols map[string]ColumnPolicy, dir string, linked bool) (*builtTable, error) {
	// Each de-identification worker has its own plan: its own finding
	// counts.
	plans := make([][]outColumn, bc.workers())
	for w := range plans {
		var err error
		if plans[w], err = bc.plan(t, cols); err != nil {
			return nil, err
		}
	}
	plan := plans[0]
	outCols := make([]Column, len(plan))
	mt := &ManifestTable{Name: t.Name, File: t.Name + bc.FileExt}
	bt := &builtTable{manifest: mt, excluded: map[string]string{}, delivered: map[string]struct{}{}}
	var visited int64 // not yet added to bc.visited
	for i, oc := range plan {
		outCols[i] = oc.Column
		mt.Columns = append(mt.Columns, ManifestColumn{Name: oc.Name, Type: oc.Type.String(), Nullable: oc.Nullable, Doc: oc.Doc, Treatment: oc.treatment})
	}
	// Each file describes itself: what export and table it is, under
	// which policy, key version and linkage scope, and what each column
	// means and was done to it. (The generation time is in the manifest,
	// not here: a retried build writes the same files.)
	meta := map[string]string{
		"rexport.export_id":      bc.in.ExportID,
		"rexport.table":          t.Name,
		"rexport.policy_version": PolicyVersion,
		"rexport.key_version":    strconv.Itoa(bc.in.KeyVersion),
		"rexport.linkage_scope":  string(bc.pseudo.Params().Scope),
	}
	for _, oc := range plan {
		meta["rexport.column."+oc.Name] = oc.Doc + " Treatment: " + oc.treatment + "."
	}
	var size int64
	var sum string
	err := WriteFileAtomic(dir, mt.File, func(w io.Writer) error {
		h := sha256.New()
		cw := &countingWriter{w: io.MultiWriter(w, h)}
		rw, err := bc.Encoder(cw, outCols, meta)
		if err != nil {
			return err
		}
		var linkedNames []string
		if linked {
			linkedNames = bc.linkedNames
		}
		kanon := newKAnonBuffer(dir, t.Name, plan, bc.dua, linkedNames, func(person string) []string { return bc.headline.learners.linked(person) })
		defer kanon.close()
		gradeCol, passedCol := t.ColumnIndex("grade"), t.ColumnIndex("passed")
		excluded := exclusionFor(t)
		q := bc.query(bc.in, t.Name)
		q.Columns = readColumns(t, cols, bc.in.Request)
		if pusher, ok := bc.Source.(ExclusionPusher); ok && t.Name != TableCourses {
			// The database leaves out deleted and opted-out learners' rows
			// (the check below stays, as a second line); the manifest
			// still counts those learners.
			err := pusher.ExcludedLearners(ctx, q, func(f LearnerFacts) error {
				reason := ExcludedOptedOut
				if f.Deleted {
					reason = ExcludedDeleted
				}
				if exclusionRank[reason] > exclusionRank[bt.excluded[f.LearnerID]] {
					bt.excluded[f.LearnerID] = reason
				}
				return nil
			})
			if err != nil {
				return err
			}
			q.DropExcluded = true
		}
		err = bc.processRows(ctx, q, plans, excluded, func(batch int) {
			if visited += int64(batch); visited >= progressEvery {
				bc.addVisited(visited)
				visited = 0
			}
		}, func(sr *SourceRow, reason string, out Row) error {
			if reason != "" {
				id := sr.Learner.LearnerID
				if exclusionRank[reason] > exclusionRank[bt.excluded[id]] {
					bt.excluded[id] = reason
				}
				return nil
			}
			mt.Rows++
			if id := sr.Learner.LearnerID; id != "" {
				bt.delivered[id] = struct{}{}
			}
			if t.Name == TableGrades {
				if g, ok := sr.Row[gradeCol].(float64); ok {
					passed, _ := sr.Row[passedCol].(bool)
					bt.grades = append(bt.grades, gradeRow{learner: sr.Learner.LearnerID, grade: g, passed: passed})
				}
			}
			if kanon != nil {
				// Quasi-identifiers are judged over the whole table: hold
				// its rows (one or a few per learner) until the end.
				return kanon.add(sr.Learner.LearnerID, out)
			}
			return rw.Write(out)
		})
		if err != nil {
			return err
		}
		if kanon != nil {
			var published func(person string, before, after []string)
			if t.Name == TableLearners {
				bc.headline.learners = newPublishedQIs(slices.Index(kanon.qiNames(), "country_code"))
				bc.linkedNames = nil
				for _, name := range kanon.qiNames() {
					bc.linkedNames = append(bc.linkedNames, TableLearners+"."+name)
				}
				published = bc.headline.learners.add
			}
			if mt.Risk, err = kanon.flush(rw.Write, published); err != nil {
				return err
			}
			if err := kanon.close(); err != nil {
				return err
			}
			for i := range mt.Columns {
				if plan[i].qi != "" || plan[i].sensitive {
					mt.Columns[i].Treatment += kanon.describe(plan[i])
				}
			}
		}
		if err := rw.Close(); err != nil {
			return err
		}
		size, sum = cw.n, hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return nil, err
	}
	bc.addVisited(visited)
	for i, oc := range plan {
		if oc.findings == nil {
			continue
		}
		for _, p := range plans[1:] {
			for typ, n := range p[i].findings {
				oc.findings[typ] += n
			}
		}
		mt.Columns[i].Findings = oc.findings
	}
	mt.Size, mt.SHA256 = size, sum
	return bt, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteFileAtomic writes dir/name through a temporary file that is fsynced
// and renamed into place, then fsyncs dir: a reader never sees a partial
// file under the final name.
func WriteFileAtomic(dir, name string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o640); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, so the renames and removals in it last.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeDocument writes a documentation file atomically and describes it.
func writeDocument(dir, name string, write func(io.Writer) error) (File, error) {
	h := sha256.New()
	var size int64
	err := WriteFileAtomic(dir, name, func(w io.Writer) error {
		cw := &countingWriter{w: io.MultiWriter(w, h)}
		err := write(cw)
		size = cw.n
		return err
	})
	return File{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}, err
}

// RemoveTemp deletes temporary files a crashed build left in dir.
func RemoveTemp(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// FileSHA256 returns the hex SHA-256 and size of a file.
func FileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// sortedReasons lists exclusion reasons in a stable order.
func sortedReasons(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// findingTypes lists the distinct types of findings, sorted.
func findingTypes(found []deidentify.Finding) []string {
	var out []string
	for _, f := range found {
		out = append(out, f.Type)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readColumns returns the columns of t a build of req reads: those it
// writes in some form, and those its rules read (the key, the learner and
// course, the time column, year_of_birth for the age rule, grade and
// passed for the headline statistics).
func readColumns(t Table, cols map[string]ColumnPolicy, req Request) []string {
	always := map[string]bool{"learner_id": true, "course_id": true, "year_of_birth": true, "grade": true, "passed": true, t.TimeColumn: true}
	for _, k := range t.Key {
		always[k] = true
	}
	var out []string
	for _, c := range t.Columns {
		switch cp := cols[c.Name]; {
		case always[c.Name]:
		case cp.Treatment == Drop,
			cp.Treatment == Scrub && !req.IncludeFreeText,
			cp.Treatment == Sensitive && !req.IncludeSensitive:
			continue
		}
		out = append(out, c.Name)
	}
	return out
}

// workers returns the number of goroutines a build uses.
func (b *Builder) workers() int {
	if b.Workers > 0 {
		return b.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// batchRows is how many source rows go to a de-identification worker at
// a time.
const batchRows = 256

// rowBatch is a run of source rows and what the workers made of them.
// Batches are reused (see processRows): each holds its rows' values and
// output values in backing arrays of its own.
type rowBatch struct {
	rows    []SourceRow
	in      []any    // backing array of the rows' Row slices
	reasons []string // why each row may not leave, "" if it may
	out     []Row    // the output row of each row that may leave
	outVals []any    // backing array of out
	done    chan struct{}
}

// add appends a copy of sr (the Source may reuse sr.Row once its
// callback returns). The rows of a batch have the same width, their
// table's.
func (b *rowBatch) add(sr SourceRow) {
	width := len(sr.Row)
	k := len(b.rows)
	if need := (k + 1) * width; len(b.in) < need {
		in := make([]any, max(need, batchRows*width))
		for j := range b.rows {
			b.rows[j].Row = in[j*width : (j+1)*width : (j+1)*width]
			copy(b.rows[j].Row, b.in[j*width:(j+1)*width])
		}
		b.in = in
	}
	row := b.in[k*width : (k+1)*width : (k+1)*width]
	copy(row, sr.Row)
	sr.Row = row
	b.rows = append(b.rows, sr)
}

// processRows scans q and de-identifies its rows on len(plans) goroutines,
// batch by batch (worker w computes the values of plan plans[w]), then
// calls fn for each row in scan order, from the calling goroutine, with
// its exclusion reason or output row; visited is called with the size of
// each batch before its rows. Memory is bounded by a few batches per
// worker: the scan waits for fn.
func (bc *buildContext) processRows(ctx context.Context, q SourceQuery, plans [][]outColumn, excluded func(SourceRow) string,
	visited func(int), fn func(sr *SourceRow, reason string, out Row) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := len(plans)
	jobs := make(chan *rowBatch)
	// The scan queues each batch here too, in scan order; the capacity
	// bounds the batches in flight.
	ordered := make(chan *rowBatch, 2*workers)
	// Batches whose rows fn has seen go back to free, to be filled again.
	free := make(chan *rowBatch, 3*workers+2)
	newBatch := func() *rowBatch {
		select {
		case b := <-free:
			b.rows = b.rows[:0]
			return b
		default:
			return &rowBatch{rows: make([]SourceRow, 0, batchRows)}
		}
	}
	var (
		scanErr error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		defer close(ordered)
		defer close(jobs)
		b := newBatch()
		send := func() error {
			b.done = make(chan struct{})
			select {
			case ordered <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case jobs <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			b = newBatch()
			return nil
		}
		scanErr = bc.Source.Scan(ctx, q, func(sr SourceRow) error {
			if b.add(sr); len(b.rows) == batchRows {
				return send()
			}
			return nil
		})
		if scanErr == nil && len(b.rows) > 0 {
			scanErr = send()
		}
	})
	for w := range workers {
		wg.Go(func() {
			for b := range jobs {
				b.deidentify(plans[w], excluded)
				close(b.done)
			}
		})
	}
	var err error
	for b := range ordered {
		select {
		case <-b.done:
		case <-ctx.Done():
		}
		if err = ctx.Err(); err != nil {
			break
		}
		visited(len(b.rows))
		for k := range b.rows {
			if err = fn(&b.rows[k], b.reasons[k], b.out[k]); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
		select {
		case free <- b:
		default:
		}
	}
	cancel()
	wg.Wait()
	if err != nil && scanErr != nil && errors.Is(err, context.Canceled) {
		return scanErr // the scan failed first
	}
	if err == nil {
		err = scanErr
	}
	return err
}

// deidentify computes the exclusion reason of each row of b and, for the
// rows that may leave, their output values.
func (b *rowBatch) deidentify(plan []outColumn, excluded func(SourceRow) string) {
	n, width := len(b.rows), len(plan)
	b.reasons, b.out = slices.Grow(b.reasons[:0], n)[:n], slices.Grow(b.out[:0], n)[:n]
	b.outVals = slices.Grow(b.outVals[:0], n*width)[:n*width]
	for k := range b.rows {
		sr := &b.rows[k]
		out := b.outVals[k*width : (k+1)*width : (k+1)*width]
		if b.reasons[k] = excluded(*sr); b.reasons[k] != "" {
			b.out[k] = nil
			clear(out) // values of an earlier use of the batch
			continue
		}
		for i, oc := range plan {
			out[i] = oc.value(sr)
		}
		b.out[k] = out
	}
}
