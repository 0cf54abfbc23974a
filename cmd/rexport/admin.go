package main

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rexport/rexport/export"
)

// withMeta opens the metadata database (--db, or the data directory's).
func withMeta(cmd *cobra.Command, g *globalFlags, fn func(db metaStore) error) error {
	db, err := openMeta(cmd.Context(), g.dataDir, g.db)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}

func newPartnerCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "partner", Short: "Manage content partners and their data-use agreements"}
	var (
		id, name, source, ref, ends, starts, ageRecipient string
		courses, tables, linkage, recipients              []string
		freeText, sensitive                               bool
	)
	add := &cobra.Command{
		Use:   "add",
		Short: "Register a partner, its courses and its data-use agreement",
		Long: `Register a content partner. Without --courses the partner gets every
course the source database lists under its id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMeta(cmd, g, func(db metaStore) error {
				svc := &export.Service{Store: db}
				if source == "" {
					source = filepath.Join(g.dataDir, "source.db")
				}
				src, err := openSource(cmd.Context(), source)
				if err != nil {
					return err
				}
				defer src.Close()
				svc.Source = src
				p := export.Partner{ID: id, Name: name, Courses: courses,
					DUA: export.DUA{Reference: ref, AllowedTables: tables, AllowFreeText: freeText, AllowSensitive: sensitive}}
				if len(p.DUA.AllowedTables) == 0 {
					p.DUA.AllowedTables = export.TableNames()
				}
				for _, d := range []struct {
					flag, value string
					dst         *time.Time
				}{{"--dua-ends", ends, &p.DUA.EndsOn}, {"--dua-starts", starts, &p.DUA.StartsOn}} {
					if d.value == "" {
						continue
					}
					t, err := time.Parse(export.DateLayout, d.value)
					if err != nil {
						return fmt.Errorf("%s: want YYYY-MM-DD: %w", d.flag, err)
					}
					*d.dst = t
				}
				for _, l := range linkage {
					p.DUA.AllowedLinkage = append(p.DUA.AllowedLinkage, export.Linkage(l))
				}
				p.DUA.Recipients = recipients
				p.AgeRecipient = ageRecipient
				out, err := svc.CreatePartner(cmd.Context(), localAdmin, p)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "partner %s registered with %d courses: %v\n", out.ID, len(out.Courses), out.Courses)
				return nil
			})
		},
	}
	f := add.Flags()
	f.StringVar(&id, "id", "", "partner id, as in the source's courses.partner_id (required)")
	f.StringVar(&name, "name", "", "partner name (required)")
	f.StringSliceVar(&courses, "courses", nil, "courses the partner owns (default: all of its courses in the source)")
	f.StringVar(&source, "source", "", "source database (default <data>/source.db)")
	f.StringVar(&ref, "dua-ref", "", "reference of the signed data-use agreement")
	f.StringSliceVar(&tables, "tables", nil, "tables the agreement allows (default: all)")
	f.BoolVar(&freeText, "free-text", false, "the agreement allows scrubbed free text")
	f.BoolVar(&sensitive, "sensitive", false, "the agreement allows sensitive categories (with consent)")
	f.StringVar(&ends, "dua-ends", "", "last day the agreement covers (YYYY-MM-DD)")
	f.StringVar(&starts, "dua-starts", "", "first day the agreement covers (YYYY-MM-DD)")
	f.StringSliceVar(&linkage, "linkage", nil, "linkage scopes the agreement allows: partner, request (default: both)")
	f.StringVar(&ageRecipient, "age-recipient", "", "age X25519 recipient (age1...): the partner's exports are stored and served encrypted to it")
	f.StringSliceVar(&recipients, "recipients", nil, "names of the people who may receive data (default: any researcher of the partner)")
	_ = add.MarkFlagRequired("id")
	_ = add.MarkFlagRequired("name")
	cmd.AddCommand(add)
	return cmd
}

func newTokenCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	var name, role, partner string
	var days int
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a principal and print its API token (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMeta(cmd, g, func(db metaStore) error {
				r, err := export.ParseRole(role)
				if err != nil {
					return err
				}
				if name == "" {
					name = role
				}
				svc := &export.Service{Store: db}
				p, token, err := svc.CreatePrincipal(cmd.Context(), localAdmin, name, r, partner, time.Duration(days)*24*time.Hour)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "principal %s (%s) created, expires %s; its token is shown once:\n",
					p.ID, p.Role, p.ExpiresAt.Format(time.RFC3339))
				fmt.Fprintln(cmd.OutOrStdout(), token)
				return nil
			})
		},
	}
	create.Flags().StringVar(&role, "role", "", "researcher, pipeline, reviewer or admin (required)")
	create.Flags().StringVar(&partner, "partner", "", "partner (required for researcher and pipeline)")
	create.Flags().StringVar(&name, "name", "", "who the token is for")
	create.Flags().IntVar(&days, "expires-in-days", 90, "days until the token stops working (1 to 366)")
	_ = create.MarkFlagRequired("role")
	revoke := &cobra.Command{
		Use:   "revoke PRINCIPAL_ID",
		Short: "Revoke a principal's token at once (its signed links stop too)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMeta(cmd, g, func(db metaStore) error {
				svc := &export.Service{Store: db}
				if err := svc.RevokePrincipal(cmd.Context(), localAdmin, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "principal %s revoked\n", args[0])
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List principals: role, partner, expiry, revocation, last use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMeta(cmd, g, func(db metaStore) error {
				ps, err := (&export.Service{Store: db}).Principals(cmd.Context(), localAdmin)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tROLE\tPARTNER\tEXPIRES\tREVOKED\tLAST USED")
				day := func(t time.Time) string {
					if t.IsZero() {
						return "-"
					}
					return t.Format(time.DateTime)
				}
				for _, p := range ps {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Name, p.Role, p.PartnerID, day(p.ExpiresAt), day(p.RevokedAt), day(p.LastUsedAt))
				}
				return w.Flush()
			})
		},
	}
	cmd.AddCommand(create, revoke, list)
	return cmd
}

func newKeysCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage pseudonym key versions"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Start a new pseudonym key version for exports approved from now on",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMeta(cmd, g, func(db metaStore) error {
				v, err := db.RotateKey(cmd.Context(), localAdmin.ID)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "pseudonym key version %d is now current\n", v)
				return nil
			})
		},
	})
	return cmd
}

func newAuditCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Inspect the audit log"}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain: exit 1 if an entry was altered or removed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMeta(cmd, g, func(db metaStore) error {
				bad, n, head, err := db.VerifyAudit(cmd.Context())
				if err != nil {
					return err
				}
				if bad != nil {
					return fmt.Errorf("audit log broken at entry %d: %s (%d entries checked)", bad.ID, bad.Reason, n)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "audit log intact: %d entries, head %s\n", n, head)
				return nil
			})
		},
	})
	return cmd
}
