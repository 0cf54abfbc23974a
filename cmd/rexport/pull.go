package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/api/client"
	"github.com/rexport/rexport/export"
)

func newPullCmd() *cobra.Command {
	r := &remoteFlags{}
	var dir, identity, series string
	var latest, wait bool
	cmd := &cobra.Command{
		Use:   "pull [EXPORT_ID] --dir DIR",
		Short: "Download an export's files, resuming where an earlier pull stopped, and verify each SHA-256",
		Long: `Download every file of a ready export into DIR (default: the export id).

Each file is written to a hidden partial file and renamed into place only
once its SHA-256 matches the export's; an interrupted pull resumes with a
Range request; a file already in DIR with the right SHA-256 is not fetched
again. With --latest, the newest ready export you may see is pulled; with
--wait, pull first waits for the export to be ready, showing its build
progress. Exit status 1 if any file does not verify, naming it.

An export encrypted to the partner's age recipient arrives as NAME.age
files; with --identity FILE pull decrypts each to NAME and checks it
against the SHA-256 in the decrypted manifest.

The server and token come from REXPORT_URL and REXPORT_TOKEN (or --url,
--token). Progress bars on a terminal, plain lines otherwise; --json prints
a JSON summary.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := r.client()
			if err != nil {
				return err
			}
			var id string
			switch {
			case len(args) == 1 && !latest:
				id = args[0]
			case len(args) == 0 && latest:
				ready, err := c.ExportsReadySince(ctx, time.Time{}, series)
				if err != nil {
					return err
				}
				if len(ready) == 0 {
					return errors.New("no ready export to pull")
				}
				id = ready[0].Id
			default:
				return errors.New("name one EXPORT_ID, or pass --latest")
			}
			e, err := c.Export(ctx, id)
			if err != nil {
				return err
			}
			if wait && e.State != api.StateReady {
				if e, err = waitReady(ctx, c, id, cmd.ErrOrStderr()); err != nil {
					return err
				}
			}
			if e.State != api.StateReady {
				return fmt.Errorf("export %s is %s, not ready (use --wait to wait for it)", id, e.State)
			}
			if dir == "" {
				dir = id
			}
			res, err := pullExport(ctx, c, e, dir, cmd.ErrOrStderr())
			if err == nil && identity != "" {
				err = decryptExport(res, identity, cmd.ErrOrStderr())
			}
			if r.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(res); jerr != nil && err == nil {
					err = jerr
				}
			} else if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "export %s: %d files verified in %s (%d bytes transferred)\n", id, len(res.Files), dir, res.Transferred)
			}
			return err
		},
	}
	r.add(cmd)
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the files to (default: the export id)")
	cmd.Flags().BoolVar(&latest, "latest", false, "pull the newest ready export")
	cmd.Flags().StringVar(&series, "series", "", "with --latest: the newest ready run of this recurring request")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the export is ready")
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file: decrypt an encrypted export's NAME.age files to NAME and check them against the decrypted manifest")
	return cmd
}

// pullResult is what a pull did, for --json and the tests.
type pullResult struct {
	ExportID    string       `json:"export_id"`
	Dir         string       `json:"dir"`
	Files       []pulledFile `json:"files"`
	Transferred int64        `json:"transferred"`
	// Decrypted lists the files decrypted with --identity.
	Decrypted []string `json:"decrypted,omitempty"`
}

type pulledFile struct {
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Transferred int64  `json:"transferred"`
	ResumedFrom int64  `json:"resumed_from,omitempty"`
	Skipped     bool   `json:"skipped,omitempty"` // already there and verified
	Error       string `json:"error,omitempty"`
}

// pullExport pulls every file of a ready export into dir. It goes on after
// a file fails to verify and then returns an error naming every such file.
func pullExport(ctx context.Context, c *client.Client, e *api.Export, dir string, progress io.Writer) (*pullResult, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	res := &pullResult{ExportID: e.Id, Dir: dir}
	var bad []string
	for _, f := range e.Files {
		pf, err := pullFile(ctx, c, e.Id, f, dir, progress)
		res.Transferred += pf.Transferred
		if err != nil {
			pf.Error = err.Error()
			res.Files = append(res.Files, pf)
			var mm *mismatchError
			if !errors.As(err, &mm) {
				// A broken connection or a full disk: stop, a re-run resumes.
				return res, fmt.Errorf("%s: %w (run pull again to resume)", f.Name, err)
			}
			bad = append(bad, f.Name)
			continue
		}
		res.Files = append(res.Files, pf)
	}
	if len(bad) > 0 {
		return res, fmt.Errorf("%d file(s) failed SHA-256 verification and were not kept: %s", len(bad), strings.Join(bad, ", "))
	}
	return res, nil
}

type mismatchError struct{ name, got, want string }

func (m *mismatchError) Error() string {
	return fmt.Sprintf("%s: SHA-256 %s does not match the export's %s", m.name, m.got, m.want)
}

// pullFile fetches one file through dir/.NAME.part, resuming from what the
// part holds, and renames it to dir/NAME once its SHA-256 matches.
func pullFile(ctx context.Context, c *client.Client, id string, f api.File, dir string, progress io.Writer) (pulledFile, error) {
	out := pulledFile{Name: f.Name, Size: f.Size, SHA256: f.Sha256}
	if f.Name == "" || filepath.Base(f.Name) != f.Name || strings.HasPrefix(f.Name, ".") {
		return out, fmt.Errorf("refusing a file name the server should not send: %q", f.Name)
	}
	final := filepath.Join(dir, f.Name)
	if sum, err := fileSHA256(final); err == nil && sum == f.Sha256 {
		out.Skipped = true
		return out, nil
	}
	part := filepath.Join(dir, "."+f.Name+".part")
	pf, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return out, err
	}
	defer pf.Close()
	h := sha256.New()
	offset, err := io.Copy(h, pf)
	if err != nil {
		return out, err
	}
	if offset > f.Size {
		if offset, err = restart(pf, h); err != nil {
			return out, err
		}
	}
	if offset < f.Size {
		resp, err := c.OpenFile(ctx, id, f.Name, offset, f.Sha256)
		if err != nil {
			return out, err
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK && offset > 0 {
			// The server sent the whole file (If-Range did not match).
			if offset, err = restart(pf, h); err != nil {
				return out, err
			}
		}
		out.ResumedFrom = offset
		var w io.Writer = io.MultiWriter(pf, h)
		if isTerminal(progress) {
			bar := progressbar.DefaultBytes(f.Size, f.Name)
			_ = bar.Set64(offset)
			w = io.MultiWriter(w, bar)
		}
		n, err := io.Copy(w, resp.Body)
		out.Transferred = n
		if err != nil {
			// Keep what arrived for the next run.
			_ = pf.Sync()
			return out, err
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.Sha256 {
		pf.Close()
		os.Remove(part)
		return out, &mismatchError{name: f.Name, got: got, want: f.Sha256}
	}
	if err := pf.Sync(); err != nil {
		return out, err
	}
	if err := pf.Close(); err != nil {
		return out, err
	}
	if err := os.Rename(part, final); err != nil {
		return out, err
	}
	if !isTerminal(progress) {
		line := fmt.Sprintf("%s: %d bytes, SHA-256 verified", f.Name, f.Size)
		if out.ResumedFrom > 0 {
			line += fmt.Sprintf(" (resumed at byte %d)", out.ResumedFrom)
		}
		fmt.Fprintln(progress, line)
	}
	return out, export.SyncDir(dir)
}

func restart(f *os.File, h hash.Hash) (int64, error) {
	h.Reset()
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	_, err := f.Seek(0, io.SeekStart)
	return 0, err
}

// fileSHA256 returns the hex SHA-256 of a file.
func fileSHA256(path string) (string, error) {
	sum, _, err := export.FileSHA256(path)
	return sum, err
}

// decryptExport decrypts the NAME.age files of a pulled export with the
// identities in identityFile, writes each to NAME (atomically), and checks
// every table and document against the decrypted manifest.
func decryptExport(res *pullResult, identityFile string, progress io.Writer) error {
	f, err := os.Open(identityFile)
	if err != nil {
		return err
	}
	ids, err := age.ParseIdentities(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", identityFile, err)
	}
	sealed := 0
	for _, pf := range res.Files {
		name, ok := strings.CutSuffix(pf.Name, export.SealedExt)
		if !ok {
			continue
		}
		sealed++
		if err := decryptFile(filepath.Join(res.Dir, pf.Name), filepath.Join(res.Dir, name), ids); err != nil {
			return fmt.Errorf("%s: %w", pf.Name, err)
		}
		res.Decrypted = append(res.Decrypted, name)
	}
	if sealed == 0 {
		return errors.New("--identity given, but the export is not encrypted")
	}
	raw, err := os.ReadFile(filepath.Join(res.Dir, export.ManifestName))
	if err != nil {
		return fmt.Errorf("the decrypted export has no manifest: %w", err)
	}
	var m export.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("decrypted manifest: %w", err)
	}
	var bad []string
	for _, want := range m.Files() {
		if sum, err := fileSHA256(filepath.Join(res.Dir, want.Name)); err != nil || sum != want.SHA256 {
			bad = append(bad, want.Name)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("decrypted file(s) do not match the manifest: %s", strings.Join(bad, ", "))
	}
	fmt.Fprintf(progress, "decrypted %d files; each matches the manifest\n", len(res.Decrypted))
	return nil
}

func decryptFile(src, dst string, ids []age.Identity) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	r, err := age.Decrypt(in, ids...)
	if err != nil {
		return err
	}
	return export.WriteFileAtomic(filepath.Dir(dst), filepath.Base(dst), func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}
