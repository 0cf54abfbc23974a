package api

import (
	"context"
	"time"

	"github.com/rexport/rexport/export"
)

func (h *handlers) CancelExport(ctx context.Context, req CancelExportRequestObject) (CancelExportResponseObject, error) {
	e, err := h.withPrincipal(ctx, func(p export.Principal) (*export.Export, error) { return h.cfg.Service.Cancel(ctx, p, req.Id) })
	if err != nil {
		return nil, err
	}
	return CancelExport200JSONResponse(toAPI(e)), nil
}

func (h *handlers) RetryExport(ctx context.Context, req RetryExportRequestObject) (RetryExportResponseObject, error) {
	e, err := h.withPrincipal(ctx, func(p export.Principal) (*export.Export, error) { return h.cfg.Service.Retry(ctx, p, req.Id) })
	if err != nil {
		return nil, err
	}
	return RetryExport200JSONResponse(toAPI(e)), nil
}

func (h *handlers) RevokeExport(ctx context.Context, req RevokeExportRequestObject) (RevokeExportResponseObject, error) {
	if req.Body == nil {
		return nil, export.Errorf(export.EINVALID, "reason: required when revoking")
	}
	e, err := h.withPrincipal(ctx, func(p export.Principal) (*export.Export, error) {
		return h.cfg.Service.Revoke(ctx, p, req.Id, req.Body.Reason)
	})
	if err != nil {
		return nil, err
	}
	return RevokeExport200JSONResponse(toAPI(e)), nil
}

// withPrincipal runs fn as the authenticated caller.
func (h *handlers) withPrincipal(ctx context.Context, fn func(export.Principal) (*export.Export, error)) (*export.Export, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return fn(p)
}

func (h *handlers) CreateLinks(ctx context.Context, req CreateLinksRequestObject) (CreateLinksResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	var ttl time.Duration
	if req.Body != nil {
		names = deref(req.Body.Files)
		ttl = time.Duration(deref(req.Body.ExpiresInSeconds)) * time.Second
	}
	links, err := h.cfg.Service.CreateLinks(ctx, p, req.Id, names, ttl)
	if err != nil {
		return nil, err
	}
	out := CreateLinks201JSONResponse{Links: make([]SignedLink, 0, len(links))}
	for _, l := range links {
		out.Links = append(out.Links, SignedLink{Name: l.Name, Url: l.URL, ExpiresAt: l.ExpiresAt})
	}
	return out, nil
}

func (h *handlers) GetLinkedFile(ctx context.Context, req GetLinkedFileRequestObject) (GetLinkedFileResponseObject, error) {
	l := export.Link{
		Method:      "GET",
		ExportID:    req.Id,
		File:        req.Name,
		PrincipalID: req.Params.Principal,
		Expires:     time.Unix(req.Params.Expires, 0),
		KeyID:       req.Params.Kid,
	}
	p, e, f, err := h.cfg.Service.LinkDownloadable(ctx, l, req.Params.Sig)
	if err != nil {
		return nil, err
	}
	return h.openFile(ctx, p, e, f, "application/octet-stream", "via=link")
}

func (h *handlers) ListErasures(ctx context.Context, req ListErasuresRequestObject) (ListErasuresResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if h.cfg.Erasures == nil {
		return nil, export.Errorf(export.ECONFLICT, "this server does not compute erasures")
	}
	e, list, err := h.cfg.Service.Erasures(ctx, p, req.Id, h.cfg.Erasures)
	if err != nil {
		return nil, err
	}
	out := ListErasures200JSONResponse{ExportId: e.ID, ComputedAt: time.Now().UTC(), Erasures: make([]Erasure, 0, len(list))}
	for _, er := range list {
		out.Erasures = append(out.Erasures, Erasure{Pseudonym: er.Pseudonym, Reason: ErasureReason(er.Reason)})
	}
	return out, nil
}

func (h *handlers) ListAudit(ctx context.Context, req ListAuditRequestObject) (ListAuditResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	limit := 100
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	entries, err := h.cfg.Service.AuditPage(ctx, p, deref(req.Params.After), limit)
	if err != nil {
		return nil, err
	}
	out := ListAudit200JSONResponse{Entries: make([]AuditEntry, 0, len(entries))}
	for _, e := range entries {
		out.Entries = append(out.Entries, AuditEntry{
			Id: e.ID, At: e.At, PrincipalId: e.PrincipalID, Action: e.Action, ExportId: e.ExportID,
			PartnerId: e.PartnerID, Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash,
		})
	}
	if len(entries) == limit {
		next := entries[len(entries)-1].ID
		out.NextAfter = &next
	}
	return out, nil
}

func (h *handlers) ListTokens(ctx context.Context, _ ListTokensRequestObject) (ListTokensResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.cfg.Service.Principals(ctx, p)
	if err != nil {
		return nil, err
	}
	out := ListTokens200JSONResponse{Principals: make([]PrincipalView, 0, len(list))}
	for _, pr := range list {
		out.Principals = append(out.Principals, PrincipalView{
			Id: pr.ID, Name: pr.Name, Role: string(pr.Role), PartnerId: ptrIfSet(pr.PartnerID),
			CreatedAt: pr.CreatedAt, ExpiresAt: pr.ExpiresAt, RevokedAt: ptrIfSet(pr.RevokedAt), LastUsedAt: ptrIfSet(pr.LastUsedAt),
		})
	}
	return out, nil
}

func (h *handlers) RevokeToken(ctx context.Context, req RevokeTokenRequestObject) (RevokeTokenResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.cfg.Service.RevokePrincipal(ctx, p, req.Id); err != nil {
		return nil, err
	}
	return RevokeToken204Response{}, nil
}
