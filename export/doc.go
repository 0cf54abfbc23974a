// Package export is the domain of rexport: export requests and their state
// machine, the source schema, the build pipeline that turns source rows into
// de-identified datasets, the manifest, and the interfaces of the stores it
// needs. It imports no HTTP framework, database driver or file-format
// library; adapters in sub-packages do.
package export
