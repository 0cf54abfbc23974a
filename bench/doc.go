// Command bench measures `rexport build` against the DuckDB SQL script a
// data engineer would write instead (issue 7): the same Parquet input, the
// same partner, courses and tables, the same number of threads.
//
// It is its own module because DuckDB is a cgo library the main module must
// not depend on. It drives the rexport binary as a subprocess, and runs the
// DuckDB script in a subprocess of itself, so that each side's peak RSS is
// its own.
//
//	cd bench && go run . [-scale 1] [-runs 3] [-scaling]
package main
