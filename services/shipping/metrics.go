package main

// Prometheus metrics at /metrics, under the Python services' names and labels
// (libs/shop_dapr/metrics.py), so the dashboards' per-service panels show shipping with
// no change: requests by route template (never the raw path: a series per order id),
// topic deliveries by topic and outcome. The scrape adds the `service` label. Shipping's
// own counters follow, under shop_shipments_* / shop_shipping_*.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type Metrics struct {
	registry         *prometheus.Registry
	Requests         *prometheus.CounterVec
	RequestSeconds   *prometheus.HistogramVec
	EventsHandled    *prometheus.CounterVec
	ShipmentsCreated prometheus.Counter
	EventsPublished  *prometheus.CounterVec
	EventsRefused    *prometheus.CounterVec
	PublishesInvalid *prometheus.CounterVec
	OpenShipments    prometheus.Gauge
}

func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_http_requests_total",
			Help: "HTTP requests served, by route template and status code",
		}, []string{"method", "route", "status"}),
		RequestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shop_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route template",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0},
		}, []string{"method", "route"}),
		EventsHandled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_events_handled_total",
			Help: "Topic deliveries handled, by topic and outcome (success, retry, drop)",
		}, []string{"topic", "outcome"}),
		ShipmentsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shop_shipments_created_total",
			Help: "Shipments created for paid orders (once per order, however often its event arrives)",
		}),
		EventsPublished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_shipping_events_published_total",
			Help: "Shipment events published by the carrier, by topic (repeats after a crash included)",
		}, []string{"topic"}),
		EventsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_shipping_events_refused_total",
			Help: "Deliveries shipping dropped to the dead-letter topic, by reason (not_json, invalid_event, " +
				"wrong_type, invalid_data; payment_not_found, payment_declined, payment_mismatch: a paid " +
				"event payments contradicts, forged or misrouted)",
		}, []string{"reason"}),
		PublishesInvalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_shipping_publishes_invalid_total",
			Help: "Events shipping refused to publish because they break their topic's contract (a bug), by topic",
		}, []string{"topic"}),
		OpenShipments: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shop_shipping_open_shipments",
			Help: "Shipments not delivered yet, as of the carrier's last sweep",
		}),
	}
	// Every series a dashboard or alert queries exists from the start, at zero: a
	// counter first seen at 1 hides its first increase from rate() and increase().
	for _, reason := range refusalReasons {
		m.EventsRefused.WithLabelValues(reason)
	}
	for _, topic := range []string{DispatchedTopic, DeliveredTopic} {
		m.EventsPublished.WithLabelValues(topic)
		m.PublishesInvalid.WithLabelValues(topic)
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Requests, m.RequestSeconds, m.EventsHandled, m.ShipmentsCreated,
		m.EventsPublished, m.EventsRefused, m.PublishesInvalid, m.OpenShipments,
	)
	return m
}

// Why a delivery is dropped (EventsRefused's label): the shape of the delivery, or a
// payment that did not happen (Verdict.Refused).
var refusalReasons = []string{
	"not_json", "invalid_event", "wrong_type", "invalid_data",
	"payment_not_found", "payment_declined", "payment_mismatch",
}

func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Probes and scrapes are neither counted nor logged (metrics.py UNMEASURED).
var unmeasured = []string{"/metrics", "/healthz", "/readyz"}

const topicRoutes = "/events/"

// requestFacts is what the inner handlers learn that the measuring middleware reports:
// the route template matched, and for a delivery the CloudEvent's topic.
type requestFacts struct {
	route string
	topic string
}

type requestFactsKey struct{}

func factsOf(ctx context.Context) *requestFacts {
	facts, _ := ctx.Value(requestFactsKey{}).(*requestFacts)
	if facts == nil {
		return &requestFacts{} // outside a measured request: written and forgotten
	}
	return facts
}

// setRoute records the route template that served the request.
func setRoute(ctx context.Context, route string) { factsOf(ctx).route = route }

// setDeliveryTopic records the topic of a delivery (its CloudEvent's `topic`).
func setDeliveryTopic(ctx context.Context, topic string) { factsOf(ctx).topic = topic }

// Measure counts and times every request, with one access line each inside the
// request's trace; for deliveries it also reads the SUCCESS/RETRY/DROP answer. It sits
// outside the app-token guard, so refused calls are counted too.
func (m *Metrics) Measure(next http.Handler, access *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, prefix := range unmeasured {
			if strings.HasPrefix(r.URL.Path, prefix) {
				next.ServeHTTP(w, r)
				return
			}
		}
		started := time.Now()
		facts := &requestFacts{}
		ctx := withLogFields(context.WithValue(r.Context(), requestFactsKey{}, facts))
		recorder := &statusRecorder{ResponseWriter: w, keepBody: strings.HasPrefix(r.URL.Path, topicRoutes)}
		defer func() {
			elapsed := time.Since(started)
			route := facts.route
			if route == "" {
				route = "unmatched"
			}
			status := recorder.statusCode()
			m.Requests.WithLabelValues(r.Method, route, fmt.Sprint(status)).Inc()
			m.RequestSeconds.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
			if recorder.keepBody {
				topic := facts.topic
				if topic == "" {
					topic = route
				}
				m.EventsHandled.WithLabelValues(topic, deliveryOutcome(status, recorder.body.Bytes())).Inc()
			}
			access.InfoContext(ctx, fmt.Sprintf("%s %s %d %.1fms", r.Method, route, status,
				float64(elapsed.Microseconds())/1000))
		}()
		next.ServeHTTP(recorder, r.WithContext(ctx))
	})
}

// deliveryOutcome reads an answer as the sidecar does: 404 drops (the app routes no such
// topic), any other non-2xx retries, a 2xx without a readable reply acknowledges.
func deliveryOutcome(status int, reply []byte) string {
	if status == http.StatusNotFound {
		return "drop"
	}
	if status < 200 || status >= 300 {
		return "retry"
	}
	var answer struct {
		Status *string `json:"status"`
	}
	if json.Unmarshal(reply, &answer) != nil || answer.Status == nil {
		return "success"
	}
	switch strings.ToUpper(*answer.Status) {
	case "SUCCESS":
		return "success"
	case "DROP":
		return "drop"
	}
	return "retry"
}

type statusRecorder struct {
	http.ResponseWriter
	status   int
	keepBody bool
	body     bytes.Buffer
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.keepBody && r.body.Len() < 4096 {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) statusCode() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
