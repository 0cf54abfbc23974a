// Package api is the HTTP layer of rexport: the OpenAPI contract
// (openapi.yaml, the source of truth), the server generated from it, the
// handlers, bearer-token authentication, request validation against the
// spec, and the one table that maps domain errors to HTTP statuses. It is
// the only package that imports echo.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/rexport/rexport/export"
)

// MaxBodyBytes bounds request bodies; larger ones get 413.
const MaxBodyBytes = 1 << 20

// FileOpener opens the files of built exports in the files store.
type FileOpener interface {
	OpenFile(ctx context.Context, e *export.Export, name string) (export.StoredFile, error)
}

// Config is what the HTTP layer needs.
type Config struct {
	Service *export.Service
	Store   export.Store
	Files   FileOpener
	Log     *slog.Logger
	// Erasures computes the erasures of built exports.
	Erasures export.ErasureFinder
	// RateLimit is each token's request rate (zero: DefaultRateLimit).
	RateLimit RateLimit
	// TrustedProxies lists the networks of reverse proxies whose
	// X-Forwarded-For header gives the client address. Empty: the client
	// address is the connection's, and the header is ignored.
	TrustedProxies []*net.IPNet
	// Now is the clock of the rate limiter (tests); nil means time.Now.
	Now func() time.Time
	// Ready checks that the service can do its work for /readyz: the
	// database answers with current migrations, the files store is there.
	Ready func(context.Context) error
	// Metrics, if set, records requests and downloads.
	Metrics Observer
	// Sample returns the path of the synthetic sample export's zip.
	Sample func(context.Context) (string, error)
}

// NewHandler returns the HTTP handler of the API.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	spec, err := GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("loading embedded OpenAPI spec: %w", err)
	}
	spec.Servers = nil // validate whatever host we are served on
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(cfg.Log)
	e.IPExtractor = echo.ExtractIPDirect()
	if len(cfg.TrustedProxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	h := &handlers{cfg: cfg}
	lim := newLimiter(cfg.RateLimit, cfg.Now)
	e.Use(recoverer(cfg.Log), secureHeaders, accessLog(cfg.Log, cfg.Metrics), limitBody(MaxBodyBytes), authenticate(cfg.Service, lim), validate(spec))
	RegisterHandlers(e, NewStrictHandler(h, nil))
	return e, nil
}

// Error mapping: the one place a domain error code becomes a status.
var statusOf = map[string]int{
	export.EINVALID:         http.StatusBadRequest,
	export.EUNAUTHENTICATED: http.StatusUnauthorized,
	export.EFORBIDDEN:       http.StatusForbidden,
	export.ENOTFOUND:        http.StatusNotFound,
	export.ECONFLICT:        http.StatusConflict,
	codeTooLarge:            http.StatusRequestEntityTooLarge,
	codeNotAcceptable:       http.StatusNotAcceptable,
	export.ELIMITED:         http.StatusTooManyRequests,
	export.EINTERNAL:        http.StatusInternalServerError,
}

// Codes of errors only the HTTP layer has.
const (
	codeTooLarge      = "too_large"
	codeNotAcceptable = "not_acceptable"
)

// codeOfStatus maps statuses that echo itself produces (unknown route,
// wrong method, bad binding) back to the vocabulary.
func codeOfStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return export.EINVALID
	case http.StatusUnauthorized:
		return export.EUNAUTHENTICATED
	case http.StatusForbidden:
		return export.EFORBIDDEN
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return export.ENOTFOUND
	case http.StatusConflict:
		return export.ECONFLICT
	case http.StatusRequestEntityTooLarge:
		return codeTooLarge
	case http.StatusNotAcceptable:
		return codeNotAcceptable
	case http.StatusTooManyRequests:
		return export.ELIMITED
	}
	return export.EINTERNAL
}

func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(c *echo.Context, err error) {
		if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
			return
		}
		code, msg := export.ErrorCode(err), export.ErrorMessage(err)
		var sc echo.HTTPStatusCoder
		var mbe *http.MaxBytesError
		var de *export.Error
		var lim *limited
		switch {
		case errors.As(err, &lim):
			code, msg = export.ELIMITED, "too many requests: slow down"
			secs := int(math.Ceil(lim.wait.Seconds()))
			c.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		case errors.As(err, &mbe):
			code, msg = codeTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes)
		case errors.As(err, &de):
		case errors.As(err, &sc):
			// Errors echo makes itself: routing and binding.
			status := sc.StatusCode()
			code, msg = codeOfStatus(status), http.StatusText(status)
			var he *echo.HTTPError
			if errors.As(err, &he) && code == export.EINVALID && he.Message != "" {
				msg = he.Message
			}
			if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
				msg = "no such endpoint: " + c.Request().Method + " " + c.Request().URL.Path
			}
		}
		status := statusOf[code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if status == http.StatusInternalServerError {
			// The cause goes to the log only; it may name paths or SQL.
			rid, _ := c.Request().Context().Value(requestIDKey).(string)
			log.Error("internal error", "request_id", rid, "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
			code, msg = export.EINTERNAL, "internal error"
		}
		if status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="rexport"`)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, Error{Code: ErrorCode(code), Message: msg})
	}
}

func recoverer(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.Error("panic in handler", "path", c.Request().URL.Path, "panic", fmt.Sprint(r))
					err = errors.New("panic")
				}
			}()
			return next(c)
		}
	}
}

func accessLog(log *slog.Logger, obs Observer) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			start := time.Now()
			id := requestID(c.Request().Header.Get("X-Request-Id"))
			c.Response().Header().Set("X-Request-Id", id)
			c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), requestIDKey, id)))
			err := next(c)
			status := 0
			if r, _ := echo.UnwrapResponse(c.Response()); r != nil {
				status = r.Status
			}
			if err != nil {
				status = statusOfError(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			route = openapiPath(route)
			d := time.Since(start)
			if obs != nil {
				obs.ObserveRequest(route, c.Request().Method, status, d)
			}
			attrs := []any{"request_id", id, "method", c.Request().Method, "route", route, "path", c.Request().URL.Path,
				"status", status, "duration", d.Round(time.Microsecond), "client", c.RealIP()}
			if p, ok := principalFrom(c.Request().Context()); ok {
				attrs = append(attrs, "principal", p.ID)
			}
			log.Info("request", attrs...)
			return err
		}
	}
}

// statusOfError is the status errorHandler answers err with.
func statusOfError(err error) int {
	var sc echo.HTTPStatusCoder
	var de *export.Error
	var lim *limited
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &lim):
		return http.StatusTooManyRequests
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case !errors.As(err, &de) && errors.As(err, &sc):
		return sc.StatusCode()
	}
	if s := statusOf[export.ErrorCode(err)]; s != 0 {
		return s
	}
	return http.StatusInternalServerError
}

// requestID returns the caller's X-Request-Id if it is a short token of
// safe characters, else a new random id; it goes into every log line of
// the request and back in the response.
func requestID(in string) string {
	if len(in) > 0 && len(in) <= 64 && strings.Trim(in, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == "" {
		return in
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Observer records request and download metrics.
type Observer interface {
	ObserveRequest(route, method string, status int, d time.Duration)
	ObserveDownload(via string)
}

// limitBody refuses bodies over max bytes: at once when Content-Length
// says so, otherwise when reading passes the limit.
func limitBody(max int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			r := c.Request()
			if r.ContentLength > max {
				return &http.MaxBytesError{Limit: max}
			}
			if r.Body != nil {
				r.Body = http.MaxBytesReader(c.Response(), r.Body, max)
			}
			return next(c)
		}
	}
}

type ctxKey int

const (
	principalKey ctxKey = iota
	requestKey
	requestIDKey
)

func principalFrom(ctx context.Context) (export.Principal, bool) {
	p, ok := ctx.Value(principalKey).(export.Principal)
	return p, ok
}

// principal returns the authenticated caller; the middleware guarantees
// one on every route but /healthz, and a missing one fails closed.
func principal(ctx context.Context) (export.Principal, error) {
	if p, ok := principalFrom(ctx); ok {
		return p, nil
	}
	return export.Principal{}, export.Errorf(export.EUNAUTHENTICATED, "authentication required")
}

// public reports whether a path needs no token: the liveness check, and
// signed links, which carry their own proof.
func public(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/v1/openapi.yaml" || strings.HasPrefix(path, "/v1/links/")
}

// limited is the error of a request over its rate limit.
type limited struct{ wait time.Duration }

func (l *limited) Error() string { return "rate limited" }

// authenticate finds the caller's principal and charges its rate limit: a
// token's own bucket once it is valid, the client address's otherwise
// (public paths, and failed attempts, so guessing tokens is slow too).
func authenticate(svc *export.Service, lim *limiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			r := c.Request()
			ctx := context.WithValue(r.Context(), requestKey, r)
			charge := func(key string) error {
				if ok, wait := lim.allow(key); !ok {
					return &limited{wait: wait}
				}
				return nil
			}
			if public(r.URL.Path) {
				if err := charge("ip:" + c.RealIP()); err != nil {
					return err
				}
			} else {
				auth := r.Header.Get("Authorization")
				scheme, token, ok := strings.Cut(auth, " ")
				if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
					if err := charge("ip:" + c.RealIP()); err != nil {
						return err
					}
					return export.Errorf(export.EUNAUTHENTICATED, "missing bearer token: send Authorization: Bearer <token>")
				}
				p, err := svc.Authenticate(ctx, token)
				if err != nil {
					if export.ErrorCode(err) == export.EUNAUTHENTICATED {
						if err := charge("ip:" + c.RealIP()); err != nil {
							return err
						}
					}
					return err
				}
				if err := charge("principal:" + p.ID); err != nil {
					return err
				}
				ctx = context.WithValue(ctx, principalKey, p)
			}
			c.SetRequest(r.WithContext(ctx))
			return next(c)
		}
	}
}

// secureHeaders sets the headers every response of an API carries: no
// sniffing, no framing, no referrer, no caching of anything by default, and
// a content policy that lets nothing run.
func secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cache-Control", "no-store")
		h.Set("Strict-Transport-Security", "max-age=31536000")
		return next(c)
	}
}

// httpRequest returns the request being served (for http.ServeContent).
func httpRequest(ctx context.Context) *http.Request {
	r, _ := ctx.Value(requestKey).(*http.Request)
	return r
}

// openapiPath turns an echo route path (/v1/exports/:id) into the spec's
// (/v1/exports/{id}).
func openapiPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}
