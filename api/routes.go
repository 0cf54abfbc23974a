package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v5"
)

// Route is one method and path the API serves, the path in the spec's
// form (/v1/exports/{id}).
type Route struct {
	Method string
	Path   string
}

// String returns "METHOD path".
func (r Route) String() string { return r.Method + " " + r.Path }

// Routes lists the routes registered in a handler returned by NewHandler,
// sorted by path then method. Tests that must cover every route (the
// authorisation matrix) enumerate them from the router itself, so a route
// added without a test fails it.
func Routes(h http.Handler) ([]Route, error) {
	e, ok := h.(*echo.Echo)
	if !ok {
		return nil, fmt.Errorf("api.Routes: handler is a %T, not the one NewHandler returns", h)
	}
	var out []Route
	for _, ri := range e.Router().Routes() {
		out = append(out, Route{Method: ri.Method, Path: openapiPath(ri.Path)})
	}
	slices.SortFunc(out, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out, nil
}
