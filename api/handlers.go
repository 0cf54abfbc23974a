package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/rexport/rexport/export"
)

// handlers implements StrictServerInterface over export.Service. Errors go
// back as Go errors; errorHandler renders them.
type handlers struct {
	cfg Config
}

var _ StrictServerInterface = (*handlers)(nil)

func (h *handlers) GetHealth(context.Context, GetHealthRequestObject) (GetHealthResponseObject, error) {
	return GetHealth200JSONResponse{Status: "ok"}, nil
}

func (h *handlers) GetReady(ctx context.Context, _ GetReadyRequestObject) (GetReadyResponseObject, error) {
	if h.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := h.cfg.Ready(ctx); err != nil {
			// The cause goes to the log only.
			h.cfg.Log.Warn("not ready", "err", err)
			return GetReady503JSONResponse{Status: "unavailable"}, nil
		}
	}
	return GetReady200JSONResponse{Status: "ready"}, nil
}

func (h *handlers) ListExports(ctx context.Context, req ListExportsRequestObject) (ListExportsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var state export.State
	if req.Params.State != nil {
		state = export.State(*req.Params.State)
	}
	limit := 100
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	f := export.ExportFilter{State: state, Limit: limit, SeriesID: deref(req.Params.Series)}
	if req.Params.Since != nil {
		f.ReadySince = req.Params.Since.UTC()
	}
	list, err := h.cfg.Service.ExportsWhere(ctx, p, f)
	if err != nil {
		return nil, err
	}
	out := ListExports200JSONResponse{Exports: make([]Export, 0, len(list))}
	for _, e := range list {
		out.Exports = append(out.Exports, toAPI(e))
	}
	return out, nil
}

func (h *handlers) CreateExport(ctx context.Context, req CreateExportRequestObject) (CreateExportResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, export.Errorf(export.EINVALID, "body: required")
	}
	b := req.Body
	r := export.Request{
		Title:            b.Title,
		Purpose:          b.Purpose,
		EthicsRef:        deref(b.EthicsRef),
		Courses:          b.Courses,
		IncludeFreeText:  deref(b.IncludeFreeText),
		IncludeSensitive: deref(b.IncludeSensitive),
	}
	for _, t := range b.Tables {
		r.Tables = append(r.Tables, string(t))
	}
	if b.From != nil {
		r.From = b.From.UTC()
	}
	if b.To != nil {
		r.To = b.To.UTC()
	}
	if b.Linkage != nil {
		r.Linkage = export.Linkage(*b.Linkage)
	}
	if b.TimePrecision != nil {
		r.TimePrecision = string(*b.TimePrecision)
	}
	r.DateShiftDays = deref(b.DateShiftDays)
	if b.Schedule != nil {
		r.Schedule = export.Schedule(*b.Schedule)
	}
	if b.Mode != nil {
		r.Mode = export.Mode(*b.Mode)
	}
	e, err := h.cfg.Service.Submit(ctx, p, deref(b.PartnerId), r)
	if err != nil {
		return nil, err
	}
	return CreateExport201JSONResponse(toAPI(e)), nil
}

func (h *handlers) GetExport(ctx context.Context, req GetExportRequestObject) (GetExportResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := h.cfg.Service.Export(ctx, p, req.Id)
	if err != nil {
		return nil, err
	}
	return GetExport200JSONResponse(toAPI(e)), nil
}

func (h *handlers) ApproveExport(ctx context.Context, req ApproveExportRequestObject) (ApproveExportResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := h.cfg.Service.Approve(ctx, p, req.Id, noteOf(req.Body))
	if err != nil {
		return nil, err
	}
	return ApproveExport200JSONResponse(toAPI(e)), nil
}

func (h *handlers) RejectExport(ctx context.Context, req RejectExportRequestObject) (RejectExportResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, export.Errorf(export.EINVALID, "reason: required when rejecting")
	}
	e, err := h.cfg.Service.Reject(ctx, p, req.Id, req.Body.Reason)
	if err != nil {
		return nil, err
	}
	return RejectExport200JSONResponse(toAPI(e)), nil
}

func (h *handlers) GetManifest(ctx context.Context, req GetManifestRequestObject) (GetManifestResponseObject, error) {
	resp, err := h.serveFile(ctx, req.Id, export.ManifestName, "application/json")
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (h *handlers) GetExportFile(ctx context.Context, req GetExportFileRequestObject) (GetExportFileResponseObject, error) {
	resp, err := h.serveFile(ctx, req.Id, req.Name, "application/octet-stream")
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (h *handlers) serveFile(ctx context.Context, id, name, contentType string) (*fileResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	e, f, err := h.cfg.Service.Downloadable(ctx, p, id, name)
	if err != nil {
		return nil, err
	}
	return h.openFile(ctx, p, e, f, contentType, "")
}

// openFile opens a file p may download and audits the download: a
// conditional or partial request is still a download; a 304 is not.
func (h *handlers) openFile(ctx context.Context, p export.Principal, e *export.Export, f *export.File, contentType, via string) (*fileResponse, error) {
	file, err := h.cfg.Files.OpenFile(ctx, e, f.Name)
	if err != nil {
		return nil, err
	}
	r := httpRequest(ctx)
	if r != nil && r.Header.Get("If-None-Match") != `"`+f.SHA256+`"` {
		detail := "file=" + f.Name
		if rg := r.Header.Get("Range"); rg != "" {
			if len(rg) > 64 {
				rg = rg[:64] + "…"
			}
			detail += " range=" + rg
		}
		if via != "" {
			detail += " " + via
		}
		if err := h.cfg.Store.Audit(ctx, export.AuditEntry{PrincipalID: p.ID, Action: "export.download", ExportID: e.ID, PartnerID: e.PartnerID, Detail: detail}); err != nil {
			file.Close()
			return nil, err
		}
		if h.cfg.Metrics != nil {
			channel := "token"
			if via != "" {
				channel = "link"
			}
			h.cfg.Metrics.ObserveDownload(channel)
		}
	}
	return &fileResponse{req: r, file: file, modTime: file.ModTime(), info: *f, contentType: contentType}, nil
}

// fileResponse serves a file with http.ServeContent: Range (a seek, so a
// range read of the stored object), If-Range, If-None-Match against the
// SHA-256 ETag, HEAD.
type fileResponse struct {
	req         *http.Request
	file        io.ReadSeekCloser
	modTime     time.Time
	info        export.File
	contentType string
}

func (f *fileResponse) visit(w http.ResponseWriter) error {
	defer f.file.Close()
	h := w.Header()
	h.Set("ETag", `"`+f.info.SHA256+`"`)
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Disposition", `attachment; filename="`+f.info.Name+`"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-SHA256", f.info.SHA256)
	if f.req == nil {
		_, err := io.Copy(w, f.file)
		return err
	}
	http.ServeContent(w, f.req, "", f.modTime, f.file)
	return nil
}

func (f *fileResponse) VisitGetExportFileResponse(w http.ResponseWriter) error { return f.visit(w) }
func (f *fileResponse) VisitGetManifestResponse(w http.ResponseWriter) error   { return f.visit(w) }
func (f *fileResponse) VisitGetLinkedFileResponse(w http.ResponseWriter) error { return f.visit(w) }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptrIfSet[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func toAPI(e *export.Export) Export {
	out := Export{
		Id:          e.ID,
		PartnerId:   e.PartnerID,
		State:       State(e.State),
		RequestedBy: e.RequestedBy,
		Request: RequestView{
			Title:            e.Request.Title,
			Purpose:          e.Request.Purpose,
			EthicsRef:        ptrIfSet(e.Request.EthicsRef),
			Courses:          e.Request.Courses,
			Tables:           e.Request.Tables,
			IncludeFreeText:  e.Request.IncludeFreeText,
			IncludeSensitive: e.Request.IncludeSensitive,
			Linkage:          string(e.Request.Linkage),
			From:             ptrIfSet(e.Request.From),
			To:               ptrIfSet(e.Request.To),
			TimePrecision:    ptrIfSet(e.Request.TimePrecision),
			DateShiftDays:    ptrIfSet(e.Request.DateShiftDays),
			Schedule:         ptrIfSet(string(e.Request.Schedule)),
			Mode:             ptrIfSet(string(e.Request.Mode)),
		},
		SeriesId:          ptrIfSet(e.SeriesID),
		Run:               ptrIfSet(e.Run),
		WindowFrom:        ptrIfSet(e.WindowFrom),
		WindowTo:          ptrIfSet(e.WindowTo),
		Decisions:         []Decision{},
		ApprovalsRequired: export.ApprovalsRequired(e.Request),
		Generation:        ptrIfSet(e.Generation),
		FilesDeletedAt:    ptrIfSet(e.FilesDeletedAt),
		Progress:          Progress{RowsWritten: e.Progress.RowsWritten, RowsEstimated: e.Progress.RowsEstimated},
		Files:             []File{},
		KeyVersion:        ptrIfSet(e.KeyVersion),
		Error:             ptrIfSet(e.Error),
		CreatedAt:         e.CreatedAt,
		UpdatedAt:         e.UpdatedAt,
		ReadyAt:           ptrIfSet(e.ReadyAt),
		ExpiresAt:         ptrIfSet(e.ExpiresAt),
	}
	for _, d := range e.Decisions {
		dd := Decision{ReviewerId: d.ReviewerID, Decision: "rejected", Reason: ptrIfSet(d.Reason), At: d.At}
		if d.Approved {
			// A reviewer's approval note is for staff (the console and the
			// audit log show it), not for the requester.
			dd.Decision, dd.Reason = "approved", nil
		}
		out.Decisions = append(out.Decisions, dd)
	}
	for _, f := range e.Files {
		out.Files = append(out.Files, File{
			Name: f.Name, Table: ptrIfSet(f.Table), Rows: ptrIfSet(f.Rows), Size: f.Size, Sha256: f.SHA256,
			Url: "/v1/exports/" + e.ID + "/files/" + f.Name,
		})
	}
	return out
}

func noteOf(b *ApproveExportJSONRequestBody) string {
	if b == nil {
		return ""
	}
	return deref(b.Note)
}

func (h *handlers) GetOpenAPI(context.Context, GetOpenAPIRequestObject) (GetOpenAPIResponseObject, error) {
	spec := Spec()
	return GetOpenAPI200ApplicationyamlResponse{Body: bytes.NewReader(spec), ContentLength: int64(len(spec))}, nil
}

func (h *handlers) GetSample(ctx context.Context, _ GetSampleRequestObject) (GetSampleResponseObject, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	if h.cfg.Sample == nil {
		return nil, export.Errorf(export.ENOTFOUND, "this server has no sample dataset")
	}
	path, err := h.cfg.Sample(ctx)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	sum, _, err := export.FileSHA256(path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileResponse{req: httpRequest(ctx), file: f, modTime: st.ModTime(), info: export.File{Name: "rexport-sample.zip", SHA256: sum}, contentType: "application/zip"}, nil
}

func (f *fileResponse) VisitGetSampleResponse(w http.ResponseWriter) error { return f.visit(w) }
