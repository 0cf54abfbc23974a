package api

import (
	"bytes"
	"context"
	_ "embed"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

//go:embed openapi.yaml
var specYAML []byte

// Spec returns the OpenAPI document the server is generated from, as YAML
// (served at /v1/openapi.yaml).
func Spec() []byte { return specYAML }

// CheckResponses wraps the API handler so that every response is checked
// against the spec (status documented for the operation, headers, JSON
// body schema) and reported: err is nil for a valid response. Tests wrap
// the server with it, so the contract is checked on every response the
// suite provokes. Requests for paths the spec does not have (a typo, a
// probe) have no operation to check against and are not reported.
func CheckResponses(next http.Handler, report func(r *http.Request, status int, err error)) (http.Handler, error) {
	spec, err := GetSwagger()
	if err != nil {
		return nil, err
	}
	spec.Servers = nil
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, err
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route, params, err := router.FindRoute(r)
		if err != nil {
			return
		}
		ropts := *opts
		if !rec.json() || r.Method == http.MethodHead {
			ropts.ExcludeResponseBody = true
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: &ropts},
			Status:                 rec.status,
			Header:                 rec.Header(),
			Options:                &ropts,
		}
		in.SetBodyBytes(rec.body.Bytes())
		report(r, rec.status, openapi3filter.ValidateResponse(context.WithoutCancel(r.Context()), in))
	}), nil
}

// recorder passes a response through and keeps its status and JSON body.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) json() bool {
	return strings.HasPrefix(r.Header().Get("Content-Type"), "application/json")
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	if r.json() && r.body.Len() < 4<<20 {
		r.body.Write(p)
	}
	return r.ResponseWriter.Write(p)
}

// ReadFrom keeps io.Copy from bypassing Write.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{r}, src)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
