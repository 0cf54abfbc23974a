// Package metrics exposes rexport's Prometheus metrics: requests by route
// and status, build durations, rows and bytes written, scrubber findings by
// type, downloads and queue depth. Labels never carry partner, export or
// learner identifiers.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rexport/rexport/export"
)

// Metrics holds the collectors of one process, in their own registry.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	builds    *prometheus.CounterVec
	buildTime prometheus.Histogram
	rows      prometheus.Counter
	bytes     prometheus.Counter
	findings  *prometheus.CounterVec
	downloads *prometheus.CounterVec
}

// New registers the collectors. queueDepth, if not nil, is read at each
// scrape for the rexport_queue_depth gauge (exports queued or building).
func New(queueDepth func() float64) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rexport_http_requests_total", Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rexport_http_request_duration_seconds", Help: "HTTP request latency by route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		builds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rexport_builds_total", Help: "Finished builds by outcome (ready, failed).",
		}, []string{"outcome"}),
		buildTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rexport_build_duration_seconds", Help: "Wall time of successful builds.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 16),
		}),
		rows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rexport_rows_written_total", Help: "Dataset rows written by successful builds.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rexport_bytes_written_total", Help: "Dataset bytes written by successful builds.",
		}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rexport_scrub_findings_total", Help: "Personal data found and replaced in free text, by type.",
		}, []string{"type"}),
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rexport_downloads_total", Help: "File downloads served, by channel (token, link).",
		}, []string{"via"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.builds, m.buildTime, m.rows, m.bytes, m.findings, m.downloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if queueDepth != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rexport_queue_depth", Help: "Exports queued or building.",
		}, queueDepth))
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveRequest counts a served request. route is the route template
// (/v1/exports/{id}), never the path with its ids.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveDownload counts a download through a token or a signed link.
func (m *Metrics) ObserveDownload(via string) { m.downloads.WithLabelValues(via).Inc() }

// BuildFinished implements export.BuildObserver.
func (m *Metrics) BuildFinished(d time.Duration, man *export.Manifest, err error) {
	if err != nil {
		m.builds.WithLabelValues("failed").Inc()
		return
	}
	m.builds.WithLabelValues("ready").Inc()
	m.buildTime.Observe(d.Seconds())
	for _, t := range man.Tables {
		m.rows.Add(float64(t.Rows))
		m.bytes.Add(float64(t.Size))
		for _, c := range t.Columns {
			for typ, n := range c.Findings {
				m.findings.WithLabelValues(typ).Add(float64(n))
			}
		}
	}
}
