package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/rexport/rexport/deidentify"
)

func newScrubCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scrub",
		Short: "Scrub personal data from free text: JSON Lines in, JSON Lines out",
		Long: `Read JSON Lines on standard input, one object per line:

  {"id": "...", "text": "...", "names": ["Maria López"], "usernames": ["mlopez88"]}

("names" and "usernames" are the course roster, optional) and write one line
per input line, in order, as soon as it is scrubbed:

  {"id": "...", "text": "<scrubbed>", "findings": [{"type": "EMAIL", "start": 10, "end": 29}]}

with byte offsets into the input text. A malformed line gets an output line
{"line": N, "error": "..."} and a message on standard error, and the run goes
on; the exit status is 1 if any line failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			failed, err := scrubLines(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d line(s) could not be scrubbed", failed)
			}
			return nil
		},
	}
}

type scrubInput struct {
	ID        string   `json:"id"`
	Text      *string  `json:"text"`
	Names     []string `json:"names"`
	Usernames []string `json:"usernames"`
}

type scrubFinding struct {
	Type  string `json:"type"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

type scrubOutput struct {
	ID       string         `json:"id"`
	Text     string         `json:"text"`
	Findings []scrubFinding `json:"findings"`
}

type scrubError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// scrubLines scrubs each line of in to out and returns how many lines
// failed. Lines may be of any length; output is flushed line by line so a
// pipeline sees results as they come.
func scrubLines(in io.Reader, out, errOut io.Writer) (failed int, err error) {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for n := 1; ; n++ {
		line, rerr := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			res, perr := scrubLine(line)
			if perr != nil {
				failed++
				msg := fmt.Sprintf("line %d: %v", n, perr)
				fmt.Fprintln(errOut, "rexport scrub:", msg)
				if err := enc.Encode(scrubError{Line: n, Error: msg}); err != nil {
					return failed, err
				}
			} else if err := enc.Encode(res); err != nil {
				return failed, err
			}
			if err := w.Flush(); err != nil {
				return failed, err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return failed, w.Flush()
		} else if rerr != nil {
			return failed, rerr
		}
	}
}

func scrubLine(line []byte) (*scrubOutput, error) {
	if !utf8.Valid(line) {
		// Offsets are into the text's bytes; the JSON decoder would
		// replace invalid bytes and shift them, so such a line is refused.
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var in scrubInput
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("not a JSON object of id, text, names, usernames: %v", err)
	}
	if rest := line[dec.InputOffset():]; len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("text after the JSON object")
	}
	if in.Text == nil {
		return nil, errors.New(`"text" is required`)
	}

	roster := make([]deidentify.Person, 0, len(in.Names)+1)
	for _, name := range in.Names {
		roster = append(roster, deidentify.Person{Name: name})
	}
	if len(in.Usernames) > 0 {
		roster = append(roster, deidentify.Person{Usernames: in.Usernames})
	}
	text, findings := deidentify.NewScrubber(roster).Scrub(*in.Text)
	out := &scrubOutput{ID: in.ID, Text: text, Findings: make([]scrubFinding, 0, len(findings))}
	for _, f := range findings {
		out.Findings = append(out.Findings, scrubFinding{Type: f.Type, Start: f.Start, End: f.End})
	}
	return out, nil
}
