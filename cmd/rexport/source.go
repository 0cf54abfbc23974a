package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rexport/rexport/source/importer"
)

func newSourceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "source",
		Short: "Manage the source database (course data)",
	}
	var from, to string
	imp := &cobra.Command{
		Use:   "import --from DIR --to source.db",
		Short: "Load <table>.csv and <table>.parquet files into the source database, all or nothing",
		Long: `import loads every <table>.csv or <table>.parquet file in DIR into the source
database in one transaction: a SQLite file (created if it does not exist) or
a postgres:// URL (an existing database; the schema is created). Any bad
input refuses the whole import with an error naming the file, line or row,
and column; nothing is imported. See docs/source-schema.md for the formats.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return errors.New("--from and --to are required")
			}
			res, err := importer.Import(cmd.Context(), from, to, importer.Options{Progress: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			var total int64
			for _, n := range res {
				total += n
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d rows from %d tables into %s\n", total, len(res), redactURL(to))
			return nil
		},
	}
	imp.Flags().StringVar(&from, "from", "", "directory of table files")
	imp.Flags().StringVar(&to, "to", "", "source database: SQLite file or postgres:// URL")
	cmd.AddCommand(imp)
	return cmd
}
