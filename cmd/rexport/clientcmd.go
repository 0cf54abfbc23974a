package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/api/client"
	"github.com/rexport/rexport/export"
)

// remoteFlags configure the API client commands: the server and the token,
// from flags or REXPORT_URL and REXPORT_TOKEN, and the output format.
type remoteFlags struct {
	url, token string
	json       bool
}

func (r *remoteFlags) add(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&r.url, "url", os.Getenv("REXPORT_URL"), "server URL (env REXPORT_URL)")
	f.StringVar(&r.token, "token", "", "API token (default: env REXPORT_TOKEN; a flag shows in the process list)")
	f.BoolVar(&r.json, "json", false, "print JSON instead of a table")
}

func (r *remoteFlags) client() (*client.Client, error) {
	if r.url == "" {
		return nil, errors.New("no server: set REXPORT_URL or --url")
	}
	tok := r.token
	if tok == "" {
		tok = os.Getenv("REXPORT_TOKEN")
	}
	if tok == "" {
		return nil, errors.New("no token: set REXPORT_TOKEN or --token")
	}
	return client.New(r.url, tok), nil
}

// isTerminal reports whether w is a terminal (tables and progress bars
// there; plain lines and JSON-friendly output otherwise). /dev/null is a
// character device but no terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// printExports prints exports as a table, or as JSON with --json.
func (r *remoteFlags) printExports(w io.Writer, list []api.Export) error {
	if r.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPARTNER\tSTATE\tAPPROVALS\tCREATED\tTITLE")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", e.Id, e.PartnerId, e.State, approvalsOf(e), e.ApprovalsRequired,
			e.CreatedAt.UTC().Format("2006-01-02 15:04"), e.Request.Title)
	}
	return tw.Flush()
}

func approvalsOf(e api.Export) int {
	n := 0
	for _, d := range e.Decisions {
		if d.Decision == "approved" {
			n++
		}
	}
	return n
}

func (r *remoteFlags) printExport(w io.Writer, e *api.Export) error {
	if r.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\nstate\t%s\npartner\t%s\ntitle\t%s\ncourses\t%s\ntables\t%s\nfree text\t%v\nsensitive\t%v\napprovals\t%d of %d\nprogress\t%d / %d rows\n",
		e.Id, e.State, e.PartnerId, e.Request.Title, strings.Join(e.Request.Courses, ", "), strings.Join(e.Request.Tables, ", "),
		e.Request.IncludeFreeText, e.Request.IncludeSensitive, approvalsOf(*e), e.ApprovalsRequired, e.Progress.RowsWritten, e.Progress.RowsEstimated)
	if e.ExpiresAt != nil {
		fmt.Fprintf(tw, "expires\t%s\n", e.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if e.Error != nil {
		fmt.Fprintf(tw, "error\t%s\n", *e.Error)
	}
	for _, f := range e.Files {
		fmt.Fprintf(tw, "file\t%s (%d bytes, sha256 %s)\n", f.Name, f.Size, f.Sha256)
	}
	return tw.Flush()
}

func newRequestCmd() *cobra.Command {
	r := &remoteFlags{}
	cmd := &cobra.Command{Use: "request", Short: "Request datasets and follow them (researchers; REXPORT_URL, REXPORT_TOKEN)"}
	r.add(cmd)
	var (
		file, title, purpose, ethics, partner, linkage, precision, from, to, schedule, mode string
		courses, tables                                                                     []string
		freeText, sensitive                                                                 bool
		shift                                                                               int
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Submit a request, from flags or from a JSON file (the body of POST /v1/exports)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			var in api.ExportRequest
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				dec := json.NewDecoder(strings.NewReader(string(b)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&in); err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
			} else {
				in = api.ExportRequest{Title: title, Purpose: purpose, Courses: courses, IncludeFreeText: &freeText, IncludeSensitive: &sensitive}
				for _, t := range tables {
					in.Tables = append(in.Tables, api.Table(t))
				}
				in.EthicsRef, in.PartnerId = ptrOrNil(ethics), ptrOrNil(partner)
				if linkage != "" {
					l := api.ExportRequestLinkage(linkage)
					in.Linkage = &l
				}
				if precision != "" {
					p := api.TimePrecision(precision)
					in.TimePrecision = &p
				}
				if shift > 0 {
					in.DateShiftDays = &shift
				}
				if schedule != "" {
					sc := api.ExportRequestSchedule(schedule)
					in.Schedule = &sc
				}
				if mode != "" {
					m := api.ExportRequestMode(mode)
					in.Mode = &m
				}
				for _, t := range []struct {
					flag, v string
					dst     **time.Time
				}{{"--from", from, &in.From}, {"--to", to, &in.To}} {
					if t.v == "" {
						continue
					}
					v, err := parseWhen(t.v)
					if err != nil {
						return fmt.Errorf("%s: %w", t.flag, err)
					}
					*t.dst = &v
				}
			}
			e, err := c.CreateExport(cmd.Context(), in)
			if err != nil {
				return err
			}
			return r.printExport(cmd.OutOrStdout(), e)
		},
	}
	f := create.Flags()
	f.StringVarP(&file, "file", "f", "", "JSON file with the request (instead of the flags)")
	f.StringVar(&title, "title", "", "title")
	f.StringVar(&purpose, "purpose", "", "the research purpose the data serves")
	f.StringVar(&ethics, "ethics-ref", "", "ethics board approval reference")
	f.StringVar(&partner, "partner", "", "partner (staff submitting for one)")
	f.StringSliceVar(&courses, "courses", nil, "course ids")
	f.StringSliceVar(&tables, "tables", nil, "tables: "+strings.Join(export.TableNames(), ", "))
	f.BoolVar(&freeText, "free-text", false, "include scrubbed free text (needs two reviewers)")
	f.BoolVar(&sensitive, "sensitive", false, "include sensitive categories (needs two reviewers)")
	f.StringVar(&linkage, "linkage", "", "partner (stable pseudonyms across the partner's exports) or request")
	f.StringVar(&precision, "time-precision", "", "second, hour or day")
	f.IntVar(&shift, "date-shift-days", 0, "shift each learner's dates by a keyed offset of up to N days")
	f.StringVar(&from, "from", "", "window start (YYYY-MM-DD or RFC 3339), inclusive")
	f.StringVar(&to, "to", "", "window end, exclusive")
	f.StringVar(&schedule, "schedule", "", "daily or weekly: a recurring request, run each period once approved")
	f.StringVar(&mode, "mode", "", "full or incremental (each run only the rows past the previous run's watermark)")

	var state string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the exports you may see, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			l, err := c.ExportsIn(cmd.Context(), api.State(state))
			if err != nil {
				return err
			}
			return r.printExports(cmd.OutOrStdout(), l)
		},
	}
	list.Flags().StringVar(&state, "state", "", "only exports in this state")
	show := &cobra.Command{
		Use:   "show EXPORT_ID",
		Short: "Show one export: state, approvals, progress, files",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			e, err := c.Export(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return r.printExport(cmd.OutOrStdout(), e)
		},
	}
	cancel := &cobra.Command{
		Use:   "cancel EXPORT_ID",
		Short: "Withdraw your request before its build starts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			e, err := c.Cancel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return r.printExport(cmd.OutOrStdout(), e)
		},
	}
	cmd.AddCommand(create, list, show, cancel)
	return cmd
}

func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(export.DateLayout, s)
}

func ptrOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newReviewCmd() *cobra.Command {
	r := &remoteFlags{}
	cmd := &cobra.Command{Use: "review", Short: "Review requests (reviewers; REXPORT_URL, REXPORT_TOKEN)"}
	r.add(cmd)
	list := &cobra.Command{
		Use:   "list",
		Short: "Requests awaiting review, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			l, err := c.ExportsIn(cmd.Context(), api.StateSubmitted)
			if err != nil {
				return err
			}
			for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
				l[i], l[j] = l[j], l[i]
			}
			return r.printExports(cmd.OutOrStdout(), l)
		},
	}
	var note, reason string
	approve := &cobra.Command{
		Use:   "approve EXPORT_ID",
		Short: "Approve a request (free text and sensitive columns need a second reviewer)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			e, err := c.ApproveNote(cmd.Context(), args[0], note)
			if err != nil {
				return err
			}
			return r.printExport(cmd.OutOrStdout(), e)
		},
	}
	approve.Flags().StringVar(&note, "note", "", "a note kept with the decision")
	reject := &cobra.Command{
		Use:   "reject EXPORT_ID --reason TEXT",
		Short: "Reject a request with a reason",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			e, err := c.Reject(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			return r.printExport(cmd.OutOrStdout(), e)
		},
	}
	reject.Flags().StringVar(&reason, "reason", "", "why (required)")
	_ = reject.MarkFlagRequired("reason")
	cmd.AddCommand(list, approve, reject)
	return cmd
}

// waitReady blocks until the export is ready, showing its build progress.
func waitReady(ctx context.Context, c *client.Client, id string, w io.Writer) (*api.Export, error) {
	tty := isTerminal(w)
	var last string
	e, err := c.WaitReady(ctx, id, time.Second, func(e *api.Export) {
		line := fmt.Sprintf("%s: %s, %d / %d rows", e.Id, e.State, e.Progress.RowsWritten, e.Progress.RowsEstimated)
		switch {
		case tty:
			fmt.Fprintf(w, "\r%-70s", line)
		case line != last:
			fmt.Fprintln(w, line)
		}
		last = line
	})
	if tty {
		fmt.Fprintln(w)
	}
	return e, err
}
