//go:build !duckdb_arrow

package interop_test

import "testing"

// TestNeedsArrowTag fails a run without the tag rather than let the
// interop checks skip unnoticed: duckdb-go builds its Arrow interface only
// with it.
func TestNeedsArrowTag(t *testing.T) {
	t.Fatal("the interop test needs duckdb-go's Arrow interface: run go test -tags duckdb_arrow ./...")
}
