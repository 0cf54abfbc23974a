package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/rexport/rexport/export"
)

// TestBuildProgressLines: a build whose output is not a terminal prints
// plain progress lines, no bar, and counts nothing (the Builder here has
// no source: an Estimate would panic).
func TestBuildProgressLines(t *testing.T) {
	saved := progressLineEvery
	defer func() { progressLineEvery = saved }()
	progressLineEvery = 0

	var w bytes.Buffer
	progress, stop := buildProgress(context.Background(), &w, &export.Builder{}, export.BuildInput{})
	progress(1000)
	progress(2500)
	stop()
	lines := strings.Split(strings.TrimSpace(w.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "building: 1000 rows visited in ") || !strings.HasPrefix(lines[1], "building: 2500 rows visited in ") {
		t.Fatalf("progress output = %q, want a line per call", w.String())
	}
	if strings.ContainsAny(w.String(), "\r\x1b") {
		t.Errorf("progress output has terminal control characters: %q", w.String())
	}
}

// TestDevNullIsNoTerminal: /dev/null is a character device, but no
// terminal: a build whose output goes there counts nothing for a bar.
func TestDevNullIsNoTerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err) // no /dev/null here
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("isTerminal(/dev/null) = true")
	}
}
