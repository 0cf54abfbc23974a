package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestScrubCommand(t *testing.T) {
	in := strings.Join([]string{
		`{"id": "a", "text": "Hi, I'm Maria López (mlopez88), mail maria.lopez@example.com", "names": ["Maria López"], "usernames": ["mlopez88"]}`,
		`{"id": "b", "text": "Nothing personal here: see question 3.2.1 at 12:30:45."}`,
		`not json at all`,
		`{"id": "d", "txt": "typo in the field name"}`,
		``,
		`{"id": "t", "text": "x"}]`,
		"{\"id\": \"u\", \"text\": \"bad \xff byte\"}",
		`{"id": "e", "text": "call +44 20 7946 0958"}`,
	}, "\n")
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs([]string{"scrub"})
	cmd.SetIn(strings.NewReader(in))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "4 line(s)") {
		t.Errorf("exit error = %v, want one naming 4 failed lines", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 7 {
		t.Fatalf("got %d output lines, want 7 (one per non-empty input line):\n%s", len(lines), out.String())
	}
	var a scrubOutput
	if err := json.Unmarshal([]byte(lines[0]), &a); err != nil {
		t.Fatal(err)
	}
	text := `Hi, I'm Maria López (mlopez88), mail maria.lopez@example.com`
	if a.ID != "a" || strings.Contains(a.Text, "López") || strings.Contains(a.Text, "mlopez88") || strings.Contains(a.Text, "example.com") {
		t.Errorf("line a not scrubbed: %+v", a)
	}
	types := map[string]string{}
	for _, f := range a.Findings {
		if f.Start < 0 || f.End > len(text) || f.Start >= f.End {
			t.Fatalf("finding %+v outside the input", f)
		}
		types[f.Type] = text[f.Start:f.End]
	}
	want := map[string]string{"PERSON": "Maria López", "USERNAME": "mlopez88", "EMAIL": "maria.lopez@example.com"}
	for typ, v := range want {
		if types[typ] != v {
			t.Errorf("finding %s = %q, want %q (byte offsets into the input)", typ, types[typ], v)
		}
	}
	var b scrubOutput
	json.Unmarshal([]byte(lines[1]), &b)
	if b.Text != "Nothing personal here: see question 3.2.1 at 12:30:45." || len(b.Findings) != 0 {
		t.Errorf("line b changed: %+v", b)
	}
	for i, wantLine := range []int{3, 4, 6, 7} {
		var e scrubError
		if err := json.Unmarshal([]byte(lines[2+i]), &e); err != nil || e.Line != wantLine || e.Error == "" {
			t.Errorf("output line %d = %s, want an error naming input line %d", 3+i, lines[2+i], wantLine)
		}
		if !strings.Contains(errOut.String(), "line "+string(rune('0'+wantLine))+":") {
			t.Errorf("stderr does not name line %d: %s", wantLine, errOut.String())
		}
	}
	var e scrubOutput
	json.Unmarshal([]byte(lines[6]), &e)
	if e.ID != "e" || e.Text != "call [PHONE]" {
		t.Errorf("the run did not go on after bad lines: %+v", e)
	}
}

// TestScrubCommandLongLine: one line of a megabyte is read whole.
func TestScrubCommandLongLine(t *testing.T) {
	text := strings.Repeat("lorem ipsum ", 100000) + "write to ana@example.org"
	line, _ := json.Marshal(map[string]string{"id": "long", "text": text})
	var out bytes.Buffer
	if failed, err := scrubLines(bytes.NewReader(line), &out, &bytes.Buffer{}); err != nil || failed != 0 {
		t.Fatalf("failed=%d err=%v", failed, err)
	}
	var o scrubOutput
	if err := json.Unmarshal(out.Bytes(), &o); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(o.Text, "write to [EMAIL]") || len(o.Findings) != 1 {
		t.Errorf("long line: suffix %q, %d findings", o.Text[len(o.Text)-30:], len(o.Findings))
	}
}
