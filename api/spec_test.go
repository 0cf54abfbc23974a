package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/export"
)

// TestEveryRouteIsInTheSpec compares the routes registered in the router
// with the operations of api/openapi.yaml, both ways.
func TestEveryRouteIsInTheSpec(t *testing.T) {
	h, err := api.NewHandler(api.Config{Service: &export.Service{}})
	if err != nil {
		t.Fatal(err)
	}
	routes, err := api.Routes(h)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	var inSpec []string
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			inSpec = append(inSpec, method+" "+path)
		}
	}
	var routed []string
	for _, r := range routes {
		if r.Method == "HEAD" || r.Method == "OPTIONS" {
			continue
		}
		routed = append(routed, r.String())
	}
	for _, r := range routed {
		if !slices.Contains(inSpec, r) {
			t.Errorf("route %s is not in the spec", r)
		}
	}
	for _, op := range inSpec {
		if !slices.Contains(routed, op) {
			t.Errorf("operation %s of the spec is not routed", op)
		}
	}
	if len(routed) < 20 {
		t.Errorf("only %d routes found", len(routed))
	}
}

// TestServesItsSpec checks GET /v1/openapi.yaml: no token, the embedded
// file byte for byte.
func TestServesItsSpec(t *testing.T) {
	h, err := api.NewHandler(api.Config{Service: &export.Service{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET /v1/openapi.yaml: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if string(body) != string(api.Spec()) || !strings.Contains(string(body), "openapi: 3.0") {
		t.Errorf("served spec differs from the embedded one (%d bytes)", len(body))
	}
}
