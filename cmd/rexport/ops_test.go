package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rexport/rexport/api"
	"github.com/rexport/rexport/fixtures"
)

// scrape fetches /metrics and parses it with the Prometheus text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// sample returns the value of the metric with the given labels (0 if
// absent): a counter's, a gauge's, or a histogram's sample count.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var sum float64
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetricsShowTheBuild runs a build and checks that /metrics counts it:
// one more ready build and its duration, exactly its rows and bytes, its
// downloads, and the requests by route template.
func TestMetricsShowTheBuild(t *testing.T) {
	env := setupE2E(t)
	before := scrape(t, env.url)
	b := buildExport(t, env, env.partners[0], []api.Table{"learners", "grades"}, false)
	after := scrape(t, env.url)

	var rows, size float64
	for _, mt := range b.manifest.Tables {
		rows += float64(mt.Rows)
		size += float64(mt.Size)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"rexport_builds_total", map[string]string{"outcome": "ready"}, 1},
		{"rexport_build_duration_seconds", nil, 1},
		{"rexport_rows_written_total", nil, rows},
		{"rexport_bytes_written_total", nil, size},
		// Every table, each document and the manifest.
		{"rexport_downloads_total", map[string]string{"via": "token"}, float64(len(b.manifest.Tables) + len(b.manifest.Documents) + 1)},
	} {
		if got := sample(after, c.name, c.labels) - sample(before, c.name, c.labels); got != c.want {
			t.Errorf("%s%v went up by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	files := map[string]string{"route": "/v1/exports/{id}/files/{name}", "method": "GET", "status": "200"}
	if got := sample(after, "rexport_http_requests_total", files) - sample(before, "rexport_http_requests_total", files); got < float64(len(b.manifest.Tables)) {
		t.Errorf("file downloads counted %v times by route, want at least %d", got, len(b.manifest.Tables))
	}
	if after["rexport_queue_depth"] == nil {
		t.Error("no rexport_queue_depth gauge")
	}
	for name := range after {
		for _, m := range after[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && (strings.Contains(l.GetValue(), "exp_") || strings.Contains(l.GetValue(), b.id)) {
					t.Errorf("%s has a route label with an id in it: %q", name, l.GetValue())
				}
			}
		}
	}
}

// TestReadiness checks /healthz and /readyz on a service of its own:
// both 200 while it works; /readyz 503 (naming nothing internal) once the
// metadata database is unreachable, while /healthz stays 200.
func TestReadiness(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "source.db")
	if err := writeFixturesDB(ctx, fixtures.Config{Learners: 40, Seed: 3}, src, nil); err != nil {
		t.Fatal(err)
	}
	env, err := startService(ctx, dir, src, appOptions{})
	t.Cleanup(env.stop)
	if err != nil {
		t.Fatal(err)
	}
	status := func(path string) (int, string) {
		resp, err := http.Get(env.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf [256]byte
		n, _ := resp.Body.Read(buf[:])
		return resp.StatusCode, string(buf[:n])
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := status(p); code != http.StatusOK {
			t.Fatalf("%s = %d %s, want 200", p, code, body)
		}
	}
	// The exports directory made unwritable is a files store that is not
	// ready (skipped as root, who writes anywhere).
	if os.Geteuid() != 0 {
		exports := filepath.Join(env.app.dataDir, "exports")
		if err := os.Chmod(exports, 0o500); err != nil {
			t.Fatal(err)
		}
		if code, _ := status("/readyz"); code != http.StatusServiceUnavailable {
			t.Errorf("/readyz with an unwritable files store = %d, want 503", code)
		}
		os.Chmod(exports, 0o750)
	}
	if err := env.app.meta.Close(); err != nil {
		t.Fatal(err)
	}
	code, body := status("/readyz")
	if code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed = %d %s, want 503", code, body)
	}
	if strings.Contains(body, "sql") || strings.Contains(body, dir) {
		t.Errorf("/readyz names internals: %s", body)
	}
	if code, _ := status("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d with the database down; it reports the process only", code)
	}
}
