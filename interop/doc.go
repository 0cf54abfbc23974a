// Package interop checks that what rexport serves reads in the tools
// researchers use, with DuckDB as the other side: every Parquet file of an
// export opens with the manifest's row counts and the dictionary's column
// names and types, and the Arrow stream of each table holds the same rows.
//
// It is a module of its own so that the main module never links DuckDB
// (cgo, a large static library). Its test builds the rexport binary from
// the parent directory, runs `rexport serve --fixtures`, and needs the
// build tag of duckdb-go's Arrow interface:
//
//	cd interop && go test -tags duckdb_arrow -count=1 ./...
package interop
