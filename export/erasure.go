package export

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	return writeFileAtomic(dir, DeliveredName, func(w io.Writer) error {
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
// facts come from the source, and only learners the export delivered are
// listed. The list is sorted by pseudonym.
func (r *Runner) Erasures(ctx context.Context, e *Export) ([]Erasure, error) {
	f, err := os.Open(filepath.Join(r.ExportDir(e.ID), DeliveredName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, Errorf(ECONFLICT, "export %s has no delivery record: it was built before erasure tracking, or its files were deleted", e.ID)
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	delivered := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		delivered[sc.Text()] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	pseudo, err := deidentify.NewPseudonymizer(r.Builder.Master, keyParams(e.PartnerID, e.ID, e.Request.Linkage, e.KeyVersion))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Erasure
	err = r.Builder.Source.Roster(ctx, e.Request.Courses, func(re RosterEntry) error {
		l := re.Learner
		var reason string
		switch {
		case l.Deleted:
			reason = ExcludedDeleted
		case l.OptedOut:
			reason = ExcludedOptedOut
		default:
			return nil
		}
		p := pseudo.Pseudonym(deidentify.KindLearner, l.LearnerID)
		if delivered[p] && !seen[p] {
			seen[p] = true
			out = append(out, Erasure{Pseudonym: p, Reason: reason})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the roster: %w", err)
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
