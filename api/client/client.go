// Package client is a small Go client of the rexport HTTP API, used by
// the demo and the command-line client. It speaks the types generated
// from api/openapi.yaml and verifies every download against its SHA-256.
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rexport/rexport/api"
)

// Client calls one rexport server with one token.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// New returns a client for the server at baseURL.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 10 * time.Minute}}
}

// Error is an error response of the API.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return readError(resp)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func readError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode}
	var body api.Error
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err == nil {
		e.Code, e.Message = string(body.Code), body.Message
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// CreatePartner registers a partner (admin token).
func (c *Client) CreatePartner(ctx context.Context, in api.PartnerInput) (*api.Partner, error) {
	var out api.Partner
	return &out, c.do(ctx, http.MethodPost, "/v1/partners", in, &out)
}

// CreateToken creates a principal and returns its token (admin token).
func (c *Client) CreateToken(ctx context.Context, in api.TokenInput) (*api.TokenCreated, error) {
	var out api.TokenCreated
	return &out, c.do(ctx, http.MethodPost, "/v1/tokens", in, &out)
}

// CreateExport submits an export request.
func (c *Client) CreateExport(ctx context.Context, in api.ExportRequest) (*api.Export, error) {
	var out api.Export
	return &out, c.do(ctx, http.MethodPost, "/v1/exports", in, &out)
}

// Export fetches one export.
func (c *Client) Export(ctx context.Context, id string) (*api.Export, error) {
	var out api.Export
	return &out, c.do(ctx, http.MethodGet, "/v1/exports/"+url.PathEscape(id), nil, &out)
}

// Exports lists exports the token may see, newest first.
func (c *Client) Exports(ctx context.Context) ([]api.Export, error) {
	return c.ExportsIn(ctx, "")
}

// ExportsIn lists exports in one state ("" for any), newest first.
func (c *Client) ExportsIn(ctx context.Context, state api.State) ([]api.Export, error) {
	path := "/v1/exports?limit=1000"
	if state != "" {
		path += "&state=" + url.QueryEscape(string(state))
	}
	var out api.ExportList
	return out.Exports, c.do(ctx, http.MethodGet, path, nil, &out)
}

// ExportsReadySince lists the exports that became ready after since (all
// ready ones for a zero since), in one series if series is not "", newest
// first: what a pipeline has not fetched yet.
func (c *Client) ExportsReadySince(ctx context.Context, since time.Time, series string) ([]api.Export, error) {
	q := url.Values{"limit": {"1000"}, "state": {string(api.StateReady)}}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if series != "" {
		q.Set("series", series)
	}
	var out api.ExportList
	return out.Exports, c.do(ctx, http.MethodGet, "/v1/exports?"+q.Encode(), nil, &out)
}

// Revoke withdraws an export after approval (reviewer or admin token).
func (c *Client) Revoke(ctx context.Context, id, reason string) (*api.Export, error) {
	var out api.Export
	return &out, c.do(ctx, http.MethodPost, "/v1/exports/"+url.PathEscape(id)+"/revoke", api.Revocation{Reason: reason}, &out)
}

// Cancel withdraws a request (the requesting researcher's token).
func (c *Client) Cancel(ctx context.Context, id string) (*api.Export, error) {
	var out api.Export
	return &out, c.do(ctx, http.MethodPost, "/v1/exports/"+url.PathEscape(id)+"/cancel", nil, &out)
}

// Approve approves an export (reviewer token).
func (c *Client) Approve(ctx context.Context, id string) (*api.Export, error) {
	return c.ApproveNote(ctx, id, "")
}

// ApproveNote approves an export with a note for the record.
func (c *Client) ApproveNote(ctx context.Context, id, note string) (*api.Export, error) {
	var body any
	if note != "" {
		body = api.Approval{Note: &note}
	}
	var out api.Export
	return &out, c.do(ctx, http.MethodPost, "/v1/exports/"+url.PathEscape(id)+"/approve", body, &out)
}

// Reject rejects an export with a reason (reviewer token).
func (c *Client) Reject(ctx context.Context, id, reason string) (*api.Export, error) {
	var out api.Export
	return &out, c.do(ctx, http.MethodPost, "/v1/exports/"+url.PathEscape(id)+"/reject", api.Rejection{Reason: reason}, &out)
}

// Manifest returns the raw manifest of a ready export.
func (c *Client) Manifest(ctx context.Context, id string) ([]byte, error) {
	var raw json.RawMessage
	err := c.do(ctx, http.MethodGet, "/v1/exports/"+url.PathEscape(id)+"/manifest", nil, &raw)
	return raw, err
}

// WaitReady polls an export until it is ready (or failed, rejected,
// expired: an error), calling progress after each poll.
func (c *Client) WaitReady(ctx context.Context, id string, every time.Duration, progress func(*api.Export)) (*api.Export, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		e, err := c.Export(ctx, id)
		if err != nil {
			return nil, err
		}
		if progress != nil {
			progress(e)
		}
		switch e.State {
		case api.StateReady:
			return e, nil
		case api.StateFailed, api.StateRejected, api.StateExpired, api.StateCancelled, api.StateRevoked:
			msg := string(e.State)
			if e.Error != nil {
				msg += ": " + *e.Error
			}
			return e, fmt.Errorf("export %s %s", id, msg)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// OpenFile starts the download of a file of a ready export from byte
// offset (0 for all of it). From an offset it sends If-Range with the
// file's ETag, so a file that changed comes back whole (200) instead of
// as a range (206). The caller closes the body.
func (c *Client) OpenFile(ctx context.Context, id, name string, offset int64, etag string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/v1/exports/"+url.PathEscape(id)+"/files/"+url.PathEscape(name), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if etag != "" {
			req.Header.Set("If-Range", `"`+etag+`"`)
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// Download writes a file of a ready export to w and checks its SHA-256
// against want (hex); a mismatch is an error.
func (c *Client) Download(ctx context.Context, id, name, want string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/v1/exports/"+url.PathEscape(id)+"/files/"+url.PathEscape(name), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, readError(resp)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	if err != nil {
		return n, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
		return n, fmt.Errorf("file %s: SHA-256 %s, manifest says %s", name, got, want)
	}
	return n, nil
}
