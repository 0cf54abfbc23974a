package export

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/rexport/rexport/deidentify"
)

// DeliveredName is the file, next to an export's dataset files, that lists
// the pseudonyms of the learners the export holds rows of, one per line,
// sorted. It is never served (names starting with a dot are not), and it
// holds no raw identifier: it is what lets the service tell a partner which
// of the pseudonyms it received belong to learners who since asked to be
// erased.
const DeliveredName = ".delivered"

func writeDelivered(dir string, pseudo *deidentify.Pseudonymizer, learners map[string]struct{}) error {
	list := make([]string, 0, len(learners))
	for id := range learners {
		list = append(list, pseudo.Pseudonym(deidentify.KindLearner, id))
	}
	slices.Sort(list)
	return WriteFileAtomic(dir, DeliveredName, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for _, p := range list {
			bw.WriteString(p)
			bw.WriteByte('\n')
		}
		return bw.Flush()
	})
}

// Erasure is a learner the partner received rows of and must now delete:
// the account was deleted or its owner opted out of research after the
// export was built.
type Erasure struct {
	Pseudonym string `json:"pseudonym"`
	Reason    string `json:"reason"` // ExcludedDeleted or ExcludedOptedOut
}

// Erasures lists the learners of a built export who are now deleted or
// opted out, under the export's own pseudonyms: each learner's current
// facts come from the source (the courses' roster, then, for learners no
// longer enrolled, the rows of the export's tables), and only learners the
// export delivered are listed. The list is sorted by pseudonym.
func (r *Runner) Erasures(ctx context.Context, e *Export) ([]Erasure, error) {
	delivered, found, err := r.deliveredBy(ctx, e, true)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, Errorf(ECONFLICT, "export %s has no delivery record: it was built before erasure tracking, or its files were deleted", e.ID)
	}
	return r.erasuresOf(ctx, e, delivered)
}

// deliveredBy collects the pseudonyms delivered by the earlier runs of e's
// series, and by e itself when withSelf is set (a one-off export is its
// own series). found is false if none of them still has its record.
func (r *Runner) deliveredBy(ctx context.Context, e *Export, withSelf bool) (delivered map[string]bool, found bool, err error) {
	runs := []*Export{e}
	if e.SeriesID != "" {
		if runs, err = r.Store.Exports(ctx, ExportFilter{AllPartners: true, SeriesID: e.SeriesID, Limit: 100000}); err != nil {
			return nil, false, err
		}
	}
	delivered = map[string]bool{}
	for _, run := range runs {
		if run.Run > e.Run || run.ID == e.ID && !withSelf {
			continue
		}
		ok, err := r.readDelivered(ctx, run, delivered)
		if err != nil {
			return nil, false, err
		}
		found = found || ok
	}
	return delivered, found, nil
}

// readDelivered adds the pseudonyms an export delivered to set, reading its
// delivery record from the files store; false if the record is gone.
func (r *Runner) readDelivered(ctx context.Context, e *Export, set map[string]bool) (bool, error) {
	f, err := r.Files.Open(ctx, fileKey(e.ID, e.BuildLease, DeliveredName))
	if ErrorCode(err) == ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		set[sc.Text()] = true
	}
	return true, sc.Err()
}

// erasuresOf lists the delivered learners (by pseudonym under e's key) who
// are now deleted or opted out.
func (r *Runner) erasuresOf(ctx context.Context, e *Export, delivered map[string]bool) ([]Erasure, error) {
	keyID := e.ID
	if e.SeriesID != "" {
		keyID = e.SeriesID
	}
	pseudo, err := deidentify.NewPseudonymizer(r.Builder.Master, keyParams(e.PartnerID, keyID, e.Request.Linkage, e.KeyVersion))
	if err != nil {
		return nil, err
	}
	// seen holds the delivered pseudonyms whose learner was found.
	seen := map[string]bool{}
	var out []Erasure
	visit := func(l LearnerFacts) {
		p := pseudo.Pseudonym(deidentify.KindLearner, l.LearnerID)
		if !delivered[p] || seen[p] {
			return
		}
		seen[p] = true
		switch {
		case l.Deleted:
			out = append(out, Erasure{Pseudonym: p, Reason: ExcludedDeleted})
		case l.OptedOut:
			out = append(out, Erasure{Pseudonym: p, Reason: ExcludedOptedOut})
		}
	}
	err = r.Builder.Source.Roster(ctx, e.Request.Courses, func(re RosterEntry) error {
		visit(re.Learner)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the roster: %w", err)
	}
	if len(seen) < len(delivered) {
		// Rows delivered need not come with an enrollment that is still
		// there (a learner who left a course keeps their posts and
		// grades): find the learners left over through the rows of the
		// export's tables, as the build did.
		errFound := errors.New("every delivered learner found")
		for _, table := range e.Request.Tables {
			if table == TableCourses || table == TableLearners {
				continue // no learner, or selected by enrollment
			}
			q := SourceQuery{Table: table, Courses: e.Request.Courses, From: e.Request.From, To: e.Request.To}
			err := r.Builder.Source.Scan(ctx, q, func(row SourceRow) error {
				visit(row.Learner)
				if len(seen) == len(delivered) {
					return errFound
				}
				return nil
			})
			if errors.Is(err, errFound) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("reading %s: %w", table, err)
			}
		}
	}
	slices.SortFunc(out, func(a, b Erasure) int {
		if a.Pseudonym < b.Pseudonym {
			return -1
		} else if a.Pseudonym > b.Pseudonym {
			return 1
		}
		return 0
	})
	return out, nil
}

// keyParams are the pseudonym key parameters of an export.
func keyParams(partnerID, exportID string, linkage Linkage, keyVersion int) deidentify.KeyParams {
	p := deidentify.KeyParams{Partner: partnerID, Scope: deidentify.ScopePartner, Version: keyVersion}
	if linkage == LinkageRequest {
		p.Scope, p.RequestID = deidentify.ScopeRequest, exportID
	}
	return p
}
