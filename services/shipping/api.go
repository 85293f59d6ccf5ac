package main

// The HTTP side: the routes, the app-token guard, health and readiness, and the layers
// every request passes (tracing outermost, then measuring, then the guard), as
// libs/shop_dapr/platform.py installs them on a Python service.

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

type API struct {
	shipments   *Shipments
	sidecar     *Sidecar
	events      *EventHandler
	metrics     *Metrics
	log         *slog.Logger
	access      *slog.Logger
	appAPIToken string
	store       string
	pubsub      string
}

// Handler is the whole app: every route behind its layers.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(method, path string, handler http.HandlerFunc) {
		mux.Handle(method+" "+path, routed(method, path, handler))
	}
	route(http.MethodGet, "/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	route(http.MethodGet, "/readyz", a.readyz)
	mux.Handle("GET /metrics", a.metrics.Handler())
	route(http.MethodGet, "/shipments/{order_id}", a.getShipment)
	route(http.MethodPost, OrderStatusChangedRoute, a.events.OrderStatusChanged)
	// FastAPI's answer to a path it does not serve, for a caller reading JSON.
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		problem(w, http.StatusNotFound, "Not Found")
	})

	guarded := requireAppToken(mux, a.appAPIToken)
	measured := a.metrics.Measure(guarded, a.access)
	return otelhttp.NewHandler(measured, "shipping",
		// Probes and scrapes every few seconds would bury the traces worth reading.
		otelhttp.WithFilter(func(r *http.Request) bool { return !isProbe(r.URL.Path) }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }),
	)
}

// routed names the request's span and metrics by its route template, as FastAPI's
// instrumentation does ("GET /shipments/{order_id}"), once the mux has chosen it.
func routed(method, path string, handler http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r.Context(), path)
		span := trace.SpanFromContext(r.Context())
		span.SetName(method + " " + path)
		span.SetAttributes(attribute.String("http.route", path))
		handler(w, r)
	})
}

// Probes come from the platform (kubelet, compose, daprd) and scrapes from Prometheus,
// not through the sidecar; metrics carry counts, never payloads (apptoken.py ALWAYS_OPEN).
var alwaysOpen = []string{"/healthz", "/readyz", "/metrics"}

func isProbe(path string) bool {
	for _, prefix := range alwaysOpen {
		if strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// requireAppToken: with APP_API_TOKEN set, daprd sends it as `dapr-api-token` with every
// call it makes to the app (invocations, deliveries); anything else reaching a route but
// the probes bypassed the sidecar and is refused with 401 (libs/shop_dapr/apptoken.py).
func requireAppToken(next http.Handler, token string) http.Handler {
	if token == "" {
		return next
	}
	expected := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isProbe(r.URL.Path) && subtle.ConstantTimeCompare([]byte(r.Header.Get("dapr-api-token")), expected) != 1 {
			problem(w, http.StatusUnauthorized, "this route is served through the Dapr sidecar only")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// problem answers {"detail": ...}, the shape of every error the Python services answer.
func problem(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]string{"detail": detail})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// getShipment answers the ShipmentRecord: how orders checks a shipment event.
func (a *API) getShipment(w http.ResponseWriter, r *http.Request) {
	orderID := r.PathValue("order_id")
	if !ValidOrderID(orderID) {
		problem(w, http.StatusBadRequest, fmt.Sprintf("order id %q is not valid: 1 to 64 letters, digits, '_' or '-'", truncate(orderID, 80)))
		return
	}
	bindLog(r.Context(), "order_id", orderID)
	found, err := a.shipments.Get(r.Context(), orderID)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	if found == nil {
		problem(w, http.StatusNotFound, fmt.Sprintf("shipment for order '%s' not found", orderID))
		return
	}
	writeJSON(w, http.StatusOK, found.Shipment.ShipmentRecord)
}

// unavailable: an unreachable sidecar or store is a 503 that says so, with Retry-After,
// not an opaque 500 (libs/shop_dapr/errors.py).
func (a *API) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.log.WarnContext(r.Context(), fmt.Sprintf("%s %s: a Dapr building block or peer failed: %v", r.Method, r.URL.Path, err))
	w.Header().Set("Retry-After", "1")
	problem(w, http.StatusServiceUnavailable, "a backing service is unavailable, retry shortly: "+err.Error())
}

// Readiness, as libs/shop_dapr/health.py checks it: the sidecar answers, and through it
// the state store and the broker, each within the probe's deadline; checked afresh at
// every probe, so it recovers by itself once what was down comes back.
const probeTimeout = 2 * time.Second

// Published by the broker probe; nobody subscribes.
const readinessTopic = "shop.readiness"

type requirement struct {
	name, method, path string
	body               []byte
}

func (a *API) requirements() []requirement {
	return []requirement{
		// A read of a key nobody writes: 204 when the store answers.
		{name: "state store " + a.store, method: http.MethodGet, path: "/v1.0/state/" + a.store + "/readyz"},
		// Publishing is the only way to reach a broker through the sidecar.
		{name: "broker " + a.pubsub, method: http.MethodPost,
			path: "/v1.0/publish/" + a.pubsub + "/" + readinessTopic + "?metadata.ttlInSeconds=60",
			body: []byte(`{"probe":true}`)},
	}
}

var sidecarRequirement = requirement{name: "sidecar", method: http.MethodGet, path: "/v1.0/healthz/outbound"}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	// health.py's bodies, keys in its order.
	type readiness struct {
		Status string `json:"status"`
		Reason string `json:"reason,omitempty"`
	}
	reasons := a.unmet(r.Context())
	if len(reasons) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, readiness{"not ready", strings.Join(reasons, "; ")})
		return
	}
	writeJSON(w, http.StatusOK, readiness{Status: "ready"})
}

func (a *API) unmet(ctx context.Context) []string {
	if reason := a.probe(ctx, sidecarRequirement); reason != "" {
		return []string{reason} // the components are reached through it: nothing more to learn
	}
	requirements := a.requirements()
	answers := make([]string, len(requirements))
	var wg sync.WaitGroup
	for i, req := range requirements {
		wg.Go(func() { answers[i] = a.probe(ctx, req) })
	}
	wg.Wait()
	var reasons []string
	for _, answer := range answers {
		if answer != "" {
			reasons = append(reasons, answer)
		}
	}
	return reasons
}

// probe is "" when the requirement's call answers 2xx within the deadline, else why not.
func (a *API) probe(ctx context.Context, req requirement) string {
	answer, err := a.sidecar.do(ctx, call{
		method: req.method, path: req.path, body: req.body, timeout: probeTimeout, untraced: true,
	})
	if err != nil {
		var outage *Unavailable
		if errors.As(err, &outage) && outage.TimedOut {
			return fmt.Sprintf("%s: no answer within %.0fs", req.name, probeTimeout.Seconds())
		}
		return fmt.Sprintf("%s: unreachable (%v)", req.name, err)
	}
	if answer.status >= 200 && answer.status < 300 {
		return ""
	}
	return fmt.Sprintf("%s: HTTP %d %s", req.name, answer.status, truncate(string(answer.body), 200))
}
