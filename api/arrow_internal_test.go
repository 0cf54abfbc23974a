package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

func TestAcceptsArrowStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, true},
		{[]string{""}, true},
		{[]string{"*/*"}, true},
		{[]string{"application/*"}, true},
		{[]string{arrowStreamType}, true},
		{[]string{"Application/Vnd.Apache.Arrow.Stream"}, true},
		{[]string{"text/html, application/xhtml+xml, */*;q=0.8"}, true},
		{[]string{"application/json", arrowStreamType + "; q=0.2"}, true},
		{[]string{"application/json"}, false},
		{[]string{"application/vnd.apache.arrow.file"}, false},
		{[]string{arrowStreamType + ";q=0"}, false},
		{[]string{"*/*;q=0"}, false},
		{[]string{"not a media type"}, false},
	}
	for _, tt := range tests {
		if got := acceptsArrowStream(tt.accept); got != tt.want {
			t.Errorf("acceptsArrowStream(%q) = %t, want %t", tt.accept, got, tt.want)
		}
	}
}

// arrowResponseOf writes a table whose row number bad (from 1) holds
// invalid UTF-8, in row groups of 10 rows, and returns the response that
// streams it.
func arrowResponseOf(t *testing.T, rows, bad int, log *slog.Logger) *arrowResponse {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	cols := []export.Column{{Name: "id", Type: export.TypeInt64}, {Name: "body", Type: export.TypeString}}
	w, err := parquet.NewWriter(f, cols, parquet.Options{MaxRowsPerRowGroup: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= rows; i++ {
		body := fmt.Sprintf("row %d", i)
		if i == bad {
			body = "bad \xff"
		}
		if err := w.Write(export.Row{int64(i), body}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := file.Stat()
	if err != nil {
		t.Fatal(err)
	}
	ar, err := parquet.NewArrowReader(file, st.Size(), parquet.ArrowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &arrowResponse{file: file, reader: ar, table: "t", exportID: "exp_1", log: log}
}

func TestArrowResponse(t *testing.T) {
	t.Parallel()

	t.Run("FailsBeforeTheFirstBatch", func(t *testing.T) {
		t.Parallel()
		resp := arrowResponseOf(t, 25, 3, slog.New(slog.DiscardHandler))
		rec := httptest.NewRecorder()
		err := resp.VisitGetExportTableResponse(rec)
		if err == nil || !strings.Contains(err.Error(), `column "body": invalid UTF-8`) {
			t.Fatalf("Visit() error = %v, want invalid UTF-8", err)
		}
		if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
			t.Errorf("wrote %d bytes and Content-Type %q before failing; the error response could not follow",
				rec.Body.Len(), rec.Header().Get("Content-Type"))
		}
	})

	// A failure after the first batch cuts the connection: the client
	// sees an error, never a stream that looks whole.
	t.Run("CutsTheConnectionMidStream", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		done := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(done)
			_ = arrowResponseOf(t, 25, 15, log).VisitGetExportTableResponse(w)
		}))
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d", resp.StatusCode)
		}
		rd, err := ipc.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Release()
		var rows int64
		for rd.Next() {
			rows += rd.RecordBatch().NumRows()
		}
		if rows != 10 {
			t.Errorf("read %d rows before the failure, want the first row group's 10", rows)
		}
		if err := rd.Err(); err == nil {
			t.Errorf("the stream ended cleanly after %d of 25 rows", rows)
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Logf("stream error: %v", err)
		}
		<-done
		if !strings.Contains(logs.String(), "failed mid-stream") {
			t.Errorf("the failure was not logged:\n%s", logs.String())
		}
	})

	t.Run("StreamsEveryRow", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		if err := arrowResponseOf(t, 25, 0, slog.New(slog.DiscardHandler)).VisitGetExportTableResponse(rec); err != nil {
			t.Fatal(err)
		}
		if got := rec.Header().Get("Content-Type"); got != arrowStreamType {
			t.Errorf("Content-Type %q, want %q", got, arrowStreamType)
		}
		rd, err := ipc.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Release()
		var rows int64
		for rd.Next() {
			rows += rd.RecordBatch().NumRows()
		}
		if err := rd.Err(); err != nil || rows != 25 {
			t.Errorf("read %d rows, error %v; want 25, nil", rows, err)
		}
	})
}
