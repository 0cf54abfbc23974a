package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/rexport/rexport/export"
	"github.com/rexport/rexport/export/parquet"
)

// arrowStreamType is the media type of the Arrow IPC stream format.
const arrowStreamType = "application/vnd.apache.arrow.stream"

// GetExportTable streams one table of a ready export as Arrow IPC record
// batches, read from the table's Parquet file batch by batch. It checks
// what a file download checks and is audited as one.
func (h *handlers) GetExportTable(ctx context.Context, req GetExportTableRequestObject) (GetExportTableResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	r := httpRequest(ctx)
	if r != nil && !acceptsArrowStream(r.Header.Values("Accept")) {
		return nil, export.Errorf(codeNotAcceptable, "Accept: this route serves only %s", arrowStreamType)
	}
	e, _, err := h.cfg.Service.Downloadable(ctx, p, req.Id, "")
	if err != nil {
		return nil, err
	}
	var f *export.File
	for i := range e.Files {
		if e.Files[i].Table != "" && e.Files[i].Table == req.Table {
			f = &e.Files[i]
			break
		}
	}
	if f == nil {
		return nil, export.Errorf(export.ENOTFOUND, "export %s has no table %q", e.ID, req.Table)
	}
	if strings.HasSuffix(f.Name, export.SealedExt) {
		// Only the partner's identity reads it, not the server.
		return nil, export.Errorf(export.ECONFLICT, "export %s is encrypted to the partner's age recipient: download %s and decrypt it", e.ID, f.Name)
	}
	file, err := h.cfg.Files.OpenFile(ctx, e, f.Name)
	if err != nil {
		return nil, err
	}
	resp, err := h.arrowResponse(ctx, p, e, f, file)
	if err != nil {
		file.Close()
		return nil, err
	}
	return resp, nil
}

// arrowResponse reads the table's Parquet file at offsets: range reads of
// the stored object.
func (h *handlers) arrowResponse(ctx context.Context, p export.Principal, e *export.Export, f *export.File, file export.StoredFile) (*arrowResponse, error) {
	ar, err := parquet.NewArrowReader(file, file.Size(), parquet.ArrowOptions{})
	if err != nil {
		return nil, err
	}
	if err := h.cfg.Store.Audit(ctx, export.AuditEntry{PrincipalID: p.ID, Action: "export.download", ExportID: e.ID,
		PartnerID: e.PartnerID, Detail: "table=" + f.Table + " format=arrow"}); err != nil {
		ar.Close()
		return nil, err
	}
	if h.cfg.Metrics != nil {
		h.cfg.Metrics.ObserveDownload("arrow")
	}
	return &arrowResponse{file: file, reader: ar, table: f.Table, exportID: e.ID, log: h.cfg.Log}, nil
}

// acceptsArrowStream reports whether Accept header values admit the Arrow
// stream: no header, */*, application/* or the type itself, with a q
// above 0. It is the route's only representation, so anything else is 406.
func acceptsArrowStream(values []string) bool {
	if strings.TrimSpace(strings.Join(values, "")) == "" {
		return true
	}
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if x, err := strconv.ParseFloat(q, 64); err != nil || x <= 0 {
					continue
				}
			}
			switch mt {
			case "*/*", "application/*", arrowStreamType:
				return true
			}
		}
	}
	return false
}

// arrowResponse writes the stream. Its headers go out with the first
// batch, so a file that fails before then still gets an error response;
// one that fails later has the connection cut, since a 200 cannot be
// taken back and a stream cut short must not look whole.
type arrowResponse struct {
	file     io.Closer
	reader   *parquet.ArrowReader
	table    string
	exportID string
	log      *slog.Logger
}

func (a *arrowResponse) VisitGetExportTableResponse(w http.ResponseWriter) error {
	defer a.file.Close()
	defer a.reader.Close()
	sw := &startWriter{w: w, start: func() {
		h := w.Header()
		h.Set("Content-Type", arrowStreamType)
		h.Set("Content-Disposition", `attachment; filename="`+a.table+`.arrows"`)
		h.Set("Cache-Control", "private, no-store")
		w.WriteHeader(http.StatusOK)
	}}
	_, err := a.reader.WriteStream(sw)
	if err == nil || !sw.started {
		return err
	}
	if sw.err != nil {
		a.log.Info("arrow stream: client went away", "export", a.exportID, "table", a.table, "err", err)
	} else {
		a.log.Error("arrow stream: reading the table failed mid-stream", "export", a.exportID, "table", a.table, "err", err)
	}
	panic(http.ErrAbortHandler)
}

// startWriter calls start before the first write, records a write error
// and flushes the response after each batch.
type startWriter struct {
	w       http.ResponseWriter
	start   func()
	started bool
	err     error
}

func (s *startWriter) Write(b []byte) (int, error) {
	if !s.started {
		s.started = true
		s.start()
	}
	n, err := s.w.Write(b)
	if err != nil {
		s.err = err
	}
	return n, err
}

func (s *startWriter) Flush() error {
	if err := http.NewResponseController(s.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
		return err
	}
	return nil
}
