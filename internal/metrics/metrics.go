// Package metrics is the service's Prometheus side: one registry with the HTTP, QQ
// funnel, rate-limit, SMS, journal and pool metrics, served in the text format on a
// listener of its own (RENRAN_METRICS_ADDR, 127.0.0.1:9464 by default). A separate
// address rather than a path on the public listener: nothing a visitor can reach shows
// traffic numbers, and a scraper needs no token.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/renran/accounts/internal/account"
)

const ns = "renran"

// Metrics holds the service's collectors. It implements account.Observer and the web
// package's request observer.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	qqSteps  *prometheus.CounterVec
	qqErrors *prometheus.CounterVec
	refused  *prometheus.CounterVec
	sms      *prometheus.CounterVec

	captchaUndecided *prometheus.CounterVec
}

var _ account.Observer = (*Metrics)(nil)

// New returns the collectors, registered with a registry of their own (plus the Go
// runtime and process collectors).
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		qqSteps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "qq_login_steps_total",
			Help: "The QQ login funnel: authorize_url, callback, returning, pending, bind_ok, bind_failed, register_ok, timeout, unavailable.",
		}, []string{"step"}),
		qqErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "qq_errors_total", Help: "Error codes QQ answered with.",
		}, []string{"code"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "rate_limit_refusals_total", Help: "Requests refused by a rate limit, by rule.",
		}, []string{"rule"}),
		sms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "sms_total", Help: "Verification codes handed to the SMS provider, by result (sent, failed).",
		}, []string{"result"}),
		captchaUndecided: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "captcha_undecided_total",
			Help: "Captcha checks Tencent could not decide (unreachable, internal_error, captcha_code_26); with fail-open on each let a request through.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.qqSteps, m.qqErrors, m.refused, m.sms, m.captchaUndecided,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range []string{account.StepAuthorize, account.StepCallback, account.StepReturning, account.StepPending,
		account.StepBindOK, account.StepBindFailed, account.StepRegisterOK, account.StepTimeout, account.StepUnavailable} {
		m.qqSteps.WithLabelValues(s) // present at zero, so rates work from the first scrape
	}
	m.sms.WithLabelValues("sent")
	m.sms.WithLabelValues("failed")
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where more collectors go.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts one answered request. route is the mux pattern that matched.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	route = strings.TrimSuffix(route, "{$}") // "GET /users/me/{$}" reads as "GET /users/me/"
	m.requests.WithLabelValues(route, knownMethod(method), strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// knownMethod keeps the method label to the standard methods: a client can send any
// token there, and each distinct value would be a new series.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

func (m *Metrics) QQStep(step string)  { m.qqSteps.WithLabelValues(step).Inc() }
func (m *Metrics) QQError(code int)    { m.qqErrors.WithLabelValues(strconv.Itoa(code)).Inc() }
func (m *Metrics) Refused(rule string) { m.refused.WithLabelValues(rule).Inc() }
func (m *Metrics) SMS(sent bool) {
	r := "failed"
	if sent {
		r = "sent"
	}
	m.sms.WithLabelValues(r).Inc()
}

// JournalPending reports fn (the journal's unwritten items) as a gauge.
func (m *Metrics) JournalPending(fn func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Name: "journal_pending", Help: "Audit events and identity updates accepted and not yet written.",
	}, func() float64 { return float64(fn()) }))
}

// CaptchaUndecided counts captcha checks Tencent could not decide (a timeout, an
// InternalError, CaptchaCode 26), by reason; with fail-open on, each let a request pass.
func (m *Metrics) CaptchaUndecided(reason string) { m.captchaUndecided.WithLabelValues(reason).Inc() }

// Connections reports the client connections open (a gauge) and those closed to make
// room for newcomers or refused (counters), from the connection limiter.
func (m *Metrics) Connections(open func() int, stats func() (evicted, refused int64)) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Name: "connections_open", Help: "Client connections open on the public listener.",
	}, func() float64 { return float64(open()) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: ns, Name: "connections_evicted_total", Help: "Idle or silent connections closed to make room for a new one (connection limits).",
	}, func() float64 { e, _ := stats(); return float64(e) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: ns, Name: "connections_refused_total", Help: "New connections closed because no idle one could make room.",
	}, func() float64 { _, r := stats(); return float64(r) }))
}

// DB reports the database pool's statistics (go_sql_* series, db_name label).
func (m *Metrics) DB(db *sql.DB, name string) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// Redis reports the Redis client's pool statistics.
func (m *Metrics) Redis(c *redis.Client) {
	m.reg.MustRegister(redisPool{c})
}

type redisPool struct{ c *redis.Client }

var (
	redisHits     = prometheus.NewDesc(ns+"_redis_pool_hits_total", "Times a free connection was found in the pool.", nil, nil)
	redisMisses   = prometheus.NewDesc(ns+"_redis_pool_misses_total", "Times no free connection was found in the pool.", nil, nil)
	redisTimeouts = prometheus.NewDesc(ns+"_redis_pool_timeouts_total", "Times waiting for a connection timed out.", nil, nil)
	redisTotal    = prometheus.NewDesc(ns+"_redis_pool_connections", "Connections in the pool.", nil, nil)
	redisIdle     = prometheus.NewDesc(ns+"_redis_pool_idle_connections", "Idle connections in the pool.", nil, nil)
)

func (p redisPool) Describe(ch chan<- *prometheus.Desc) {
	ch <- redisHits
	ch <- redisMisses
	ch <- redisTimeouts
	ch <- redisTotal
	ch <- redisIdle
}

func (p redisPool) Collect(ch chan<- prometheus.Metric) {
	s := p.c.PoolStats()
	ch <- prometheus.MustNewConstMetric(redisHits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(redisMisses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(redisTimeouts, prometheus.CounterValue, float64(s.Timeouts))
	ch <- prometheus.MustNewConstMetric(redisTotal, prometheus.GaugeValue, float64(s.TotalConns))
	ch <- prometheus.MustNewConstMetric(redisIdle, prometheus.GaugeValue, float64(s.IdleConns))
}
