package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v5"

	"github.com/rexport/rexport/export"
)

// validate checks every routed request against the OpenAPI spec (path and
// query parameters, body schema with unknown fields refused) before any
// handler runs, and turns a violation into EINVALID naming the field.
func validate(spec *openapi3.T) echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, // authenticate did it
		KeepValidatedValue: true,
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			ri := c.RouteInfo()
			path := openapiPath(ri.Path)
			item := spec.Paths.Value(path)
			if item == nil {
				return next(c) // echo answers unknown routes itself
			}
			op := item.GetOperation(ri.Method)
			if op == nil {
				return next(c)
			}
			params := map[string]string{}
			for _, name := range ri.Parameters {
				params[name] = c.Param(name)
			}
			r := c.Request()
			in := &openapi3filter.RequestValidationInput{
				Request:    r,
				PathParams: params,
				Route:      &routers.Route{Spec: spec, Path: path, PathItem: item, Method: ri.Method, Operation: op},
				Options:    opts,
			}
			if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return mbe
				}
				return export.Errorf(export.EINVALID, "%s", validationMessage(err))
			}
			return next(c)
		}
	}
}

// validationMessage renders a kin-openapi error as "field: reason",
// without echoing the offending value.
func validationMessage(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return "request does not match the API: " + err.Error()
	}
	if re.Parameter != nil {
		reason := re.Reason
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			reason = se.Reason
		}
		if reason == "" && re.Err != nil {
			reason = re.Err.Error()
		}
		return fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, re.Parameter.Name, reason)
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		if field == "" {
			field = "body"
		}
		return field + ": " + se.Reason
	}
	var pe *openapi3filter.ParseError
	if errors.As(re.Err, &pe) {
		return "body: malformed JSON: " + pe.Reason
	}
	if re.Err != nil {
		if strings.Contains(re.Err.Error(), "value is required but missing") || re.Reason == "value is required but missing" {
			return "body: required"
		}
		return "body: " + re.Err.Error()
	}
	return "body: " + re.Reason
}
