package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
	metasqlite "github.com/rexport/rexport/export/sqlite"
)

// TestRunMain is not a test: run as a subprocess with REXPORT_TEST_MAIN
// set, it runs main with the arguments in that variable (separated by
// newlines), so a test can see the binary's exit status and stderr.
func TestRunMain(t *testing.T) {
	args := os.Getenv("REXPORT_TEST_MAIN")
	if args == "" {
		t.Skip("runs main in a subprocess of TestAuditVerifyCommand")
	}
	os.Args = append([]string{"rexport"}, strings.Split(args, "\n")...)
	main()
}

// runBinary runs the command line as a separate process and returns its
// exit code and combined output.
func runBinary(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunMain$", "-test.count=1")
	cmd.Env = append(os.Environ(), "REXPORT_TEST_MAIN="+strings.Join(args, "\n"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("running %v: %v", args, err)
	return 0, ""
}

// TestAuditVerifyCommand tampers with a 1,000-entry audit log in the data
// directory and checks that `rexport audit verify` exits non-zero and names
// the entry.
func TestAuditVerifyCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1,000-entry audit log")
	}
	ctx := context.Background()
	// A fresh data directory with a 1,000-entry log for each tamper.
	newData := func(t *testing.T) (string, *metasqlite.DB) {
		t.Helper()
		data := t.TempDir()
		db, err := metasqlite.Open(ctx, filepath.Join(data, "rexport.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i := range 1000 {
			e := export.AuditEntry{At: t0.Add(time.Duration(i) * time.Second), PrincipalID: fmt.Sprintf("prn_%d", i%9),
				Action: "export.approve", ExportID: fmt.Sprintf("exp_%d", i/4), PartnerID: "p1", Detail: fmt.Sprintf("approvals=%d/2", i%2+1)}
			if err := db.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		return data, db
	}
	tests := []struct {
		name string
		sql  string
		want int64
	}{
		{"Intact", ``, 0},
		{"FlipDetail", `UPDATE audit_log SET detail = 'approvals=2/3' WHERE id = 500`, 500},
		{"FlipPrincipal", `UPDATE audit_log SET principal_id = 'prn_8' WHERE id = 1`, 1},
		{"DeleteMiddle", `DELETE FROM audit_log WHERE id = 321`, 322},
		{"DeleteLast", `DELETE FROM audit_log WHERE id = 1000`, 999},
		{"InsertAtEnd", `INSERT INTO audit_log (id, at, principal_id, action, export_id, partner_id, detail, prev_hash, hash)
			SELECT 1001, at, principal_id, action, export_id, partner_id, detail, hash, hash FROM audit_log WHERE id = 1000`, 1001},
		{"Reorder", `UPDATE audit_log SET id = -1 WHERE id = 700; UPDATE audit_log SET id = 700 WHERE id = 701; UPDATE audit_log SET id = 701 WHERE id = -1`, 700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, db := newData(t)
			if tt.sql != "" {
				if _, err := db.SQL().Exec(tt.sql); err != nil {
					t.Fatal(err)
				}
			}
			code, out := runBinary(t, "audit", "verify", "--data", data, "--log-level", "error")
			if tt.want == 0 {
				if code != 0 || !strings.Contains(out, "audit log intact: 1000 entries") {
					t.Errorf("intact log: exit %d, output %q", code, out)
				}
				return
			}
			if code == 0 {
				t.Errorf("exit 0 after tampering; output %q", out)
			}
			if want := fmt.Sprintf("broken at entry %d:", tt.want); !strings.Contains(out, want) {
				t.Errorf("output %q does not name the entry (want %q)", out, want)
			}
		})
	}
}
