package export

import (
	"strings"
	"testing"
)

// TestPolicyCoversSourceSchema walks every column of every source table:
// each must have exactly one valid treatment.
func TestPolicyCoversSourceSchema(t *testing.T) {
	if err := DefaultPolicy.Check(SourceTables); err != nil {
		t.Fatal(err)
	}
	for _, table := range SourceTables {
		for _, c := range table.Columns {
			if _, ok := DefaultPolicy[table.Name][c.Name]; !ok {
				t.Errorf("%s.%s has no treatment", table.Name, c.Name)
			}
		}
	}
}

// TestPolicyFailsClosedOnNewColumn shows that a column added to the
// warehouse schema without a treatment is an error, not a pass-through.
func TestPolicyFailsClosedOnNewColumn(t *testing.T) {
	tables := make([]Table, len(SourceTables))
	copy(tables, SourceTables)
	learners, _ := SourceTable(TableLearners)
	learners.Columns = append(append([]Column{}, learners.Columns...), Column{Name: "phone_number", Type: TypeString, Nullable: true})
	tables[1] = learners
	err := DefaultPolicy.Check(tables)
	if err == nil || !strings.Contains(err.Error(), "learners.phone_number has no treatment") {
		t.Fatalf("Check with an untreated column: err = %v", err)
	}
}

func TestPolicyRejectsBadTreatments(t *testing.T) {
	tests := []struct {
		name string
		cp   ColumnPolicy
		col  Column
	}{
		{"PseudonymizeNumber", ColumnPolicy{Treatment: Pseudonymize, Kind: 1}, Column{Name: "x", Type: TypeInt64}},
		{"PseudonymizeWithoutKind", ColumnPolicy{Treatment: Pseudonymize}, Column{Name: "x", Type: TypeString}},
		{"PseudonymizeBadKind", ColumnPolicy{Treatment: Pseudonymize, Kind: 200}, Column{Name: "x", Type: TypeString}},
		{"ScrubNumber", ColumnPolicy{Treatment: Scrub}, Column{Name: "x", Type: TypeFloat64}},
		{"AgeBandOfString", ColumnPolicy{Treatment: Generalize, Generalization: GenAgeBandAtSignup}, Column{Name: "x", Type: TypeString}},
		{"UnknownTreatment", ColumnPolicy{Treatment: "encrypt"}, Column{Name: "x", Type: TypeString}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{"t": {"x": tt.cp}}
			if err := p.Check([]Table{{Name: "t", Columns: []Column{tt.col}}}); err == nil {
				t.Error("Check accepted it")
			}
		})
	}
	t.Run("TreatmentForUnknownColumn", func(t *testing.T) {
		p := Policy{"t": {"x": keep, "y": keep}}
		if err := p.Check([]Table{{Name: "t", Columns: []Column{{Name: "x", Type: TypeString}}}}); err == nil {
			t.Error("Check accepted a treatment for a column the schema lacks")
		}
	})
}
