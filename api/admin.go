package api

import (
	"context"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/rexport/rexport/export"
)

func (h *handlers) CreatePartner(ctx context.Context, req CreatePartnerRequestObject) (CreatePartnerResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, export.Errorf(export.EINVALID, "body: required")
	}
	b := req.Body
	in := export.Partner{
		ID:      b.Id,
		Name:    b.Name,
		Courses: deref(b.Courses),
		DUA: export.DUA{
			Reference:      b.Dua.Reference,
			AllowFreeText:  deref(b.Dua.AllowFreeText),
			AllowSensitive: deref(b.Dua.AllowSensitive),
		},
	}
	for _, t := range b.Dua.AllowedTables {
		in.DUA.AllowedTables = append(in.DUA.AllowedTables, string(t))
	}
	if b.Dua.EndsOn != nil {
		in.DUA.EndsOn = b.Dua.EndsOn.Time
	}
	if b.Dua.StartsOn != nil {
		in.DUA.StartsOn = b.Dua.StartsOn.Time
	}
	for _, l := range deref(b.Dua.AllowedLinkage) {
		in.DUA.AllowedLinkage = append(in.DUA.AllowedLinkage, export.Linkage(l))
	}
	in.DUA.Recipients = deref(b.Dua.Recipients)
	in.AgeRecipient = deref(b.AgeRecipient)
	if b.Dua.FinestTimePrecision != nil {
		in.DUA.FinestTimePrecision = string(*b.Dua.FinestTimePrecision)
	}
	in.DUA.K, in.DUA.L = deref(b.Dua.K), deref(b.Dua.L)
	out, err := h.cfg.Service.CreatePartner(ctx, p, in)
	if err != nil {
		return nil, err
	}
	return CreatePartner201JSONResponse(partnerToAPI(*out)), nil
}

func (h *handlers) ListPartners(ctx context.Context, _ ListPartnersRequestObject) (ListPartnersResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.cfg.Service.Partners(ctx, p)
	if err != nil {
		return nil, err
	}
	out := ListPartners200JSONResponse{Partners: []Partner{}}
	for _, pt := range list {
		out.Partners = append(out.Partners, partnerToAPI(pt))
	}
	return out, nil
}

func (h *handlers) CreateToken(ctx context.Context, req CreateTokenRequestObject) (CreateTokenResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, export.Errorf(export.EINVALID, "body: required")
	}
	ttl := time.Duration(deref(req.Body.ExpiresInDays)) * 24 * time.Hour
	pr, token, err := h.cfg.Service.CreatePrincipal(ctx, p, req.Body.Name, export.Role(req.Body.Role), deref(req.Body.PartnerId), ttl)
	if err != nil {
		return nil, err
	}
	return CreateToken201JSONResponse{PrincipalId: pr.ID, Name: pr.Name, Role: string(pr.Role), PartnerId: ptrIfSet(pr.PartnerID), Token: token, ExpiresAt: pr.ExpiresAt}, nil
}

func partnerToAPI(p export.Partner) Partner {
	out := Partner{
		Id:        p.ID,
		Name:      p.Name,
		Courses:   p.Courses,
		CreatedAt: p.CreatedAt,
		Dua: DUA{
			Reference:      p.DUA.Reference,
			AllowFreeText:  &p.DUA.AllowFreeText,
			AllowSensitive: &p.DUA.AllowSensitive,
			AllowedTables:  []Table{},
		},
	}
	if out.Courses == nil {
		out.Courses = []string{}
	}
	out.AgeRecipient = ptrIfSet(p.AgeRecipient)
	for _, t := range p.DUA.AllowedTables {
		out.Dua.AllowedTables = append(out.Dua.AllowedTables, Table(t))
	}
	if !p.DUA.EndsOn.IsZero() {
		out.Dua.EndsOn = &openapi_types.Date{Time: p.DUA.EndsOn.UTC().Truncate(24 * time.Hour)}
	}
	if !p.DUA.StartsOn.IsZero() {
		out.Dua.StartsOn = &openapi_types.Date{Time: p.DUA.StartsOn.UTC().Truncate(24 * time.Hour)}
	}
	if len(p.DUA.AllowedLinkage) > 0 {
		var ls []DUAAllowedLinkage
		for _, l := range p.DUA.AllowedLinkage {
			ls = append(ls, DUAAllowedLinkage(l))
		}
		out.Dua.AllowedLinkage = &ls
	}
	out.Dua.Recipients = nonEmpty(p.DUA.Recipients)
	finest := TimePrecision(p.DUA.FinestTimePrecision)
	if finest == "" {
		finest = Hour
	}
	k, l := p.DUA.KAnonymity(), p.DUA.LDiversity()
	out.Dua.FinestTimePrecision, out.Dua.K, out.Dua.L = &finest, &k, &l
	return out
}

// nonEmpty returns nil for an empty slice, else a pointer to it.
func nonEmpty[T any](v []T) *[]T {
	if len(v) == 0 {
		return nil
	}
	return &v
}
