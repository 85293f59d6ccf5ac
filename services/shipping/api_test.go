package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAShipmentIsAnsweredAsItsContractSaysWithNothingMore(t *testing.T) {
	h := shipped(t, "o-1")
	answer := h.request(http.MethodGet, "/shipments/o-1", nil, nil)
	if answer.Code != http.StatusOK {
		t.Fatalf("HTTP %d %s", answer.Code, answer.Body)
	}
	want := `{"order_id":"o-1","status":"preparing","tracking_number":"` + TrackingNumber("o-1") +
		`","carrier":"Parcelwise","created_at":"2025-01-02T03:04:05.123Z","dispatched_at":null,"delivered_at":null}`
	if got := strings.TrimSpace(answer.Body.String()); got != want {
		t.Errorf("answer %s\nwant   %s", got, want)
	}
	if answer.Header().Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", answer.Header().Get("Content-Type"))
	}

	h.clock.Advance(time.Hour)
	h.sweep()
	h.sweep()
	var record map[string]any
	_ = json.Unmarshal(h.request(http.MethodGet, "/shipments/o-1", nil, nil).Body.Bytes(), &record)
	if record["status"] != "delivered" || record["dispatched_at"] != "2025-01-02T03:04:13.123Z" ||
		record["delivered_at"] != "2025-01-02T03:04:28.123Z" {
		t.Errorf("delivered record %v", record)
	}
}

func TestAnUnknownShipmentIs404WithItsProblem(t *testing.T) {
	h := newHarness(t, nil)
	answer := h.request(http.MethodGet, "/shipments/o-404", nil, nil)
	if answer.Code != http.StatusNotFound {
		t.Fatalf("HTTP %d", answer.Code)
	}
	if got := strings.TrimSpace(answer.Body.String()); got != `{"detail":"shipment for order 'o-404' not found"}` {
		t.Errorf("body %s", got)
	}
}

func TestAnInvalidOrderIdIs400(t *testing.T) {
	h := newHarness(t, nil)
	for _, path := range []string{"/shipments/o.1", "/shipments/" + strings.Repeat("a", 65), "/shipments/%20"} {
		answer := h.request(http.MethodGet, path, nil, nil)
		if answer.Code != http.StatusBadRequest || !strings.Contains(answer.Body.String(), `"detail"`) {
			t.Errorf("%s: HTTP %d %s", path, answer.Code, answer.Body)
		}
	}
	if len(h.fake.ops()) != 0 {
		t.Error("the store was reached with an invalid id")
	}
}

func TestAShipmentReadWithoutAStoreIs503(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.set(func(f *fakeSidecar) { f.storeDown = true })
	answer := h.request(http.MethodGet, "/shipments/o-1", nil, nil)
	if answer.Code != http.StatusServiceUnavailable || answer.Header().Get("Retry-After") != "1" {
		t.Fatalf("HTTP %d %v", answer.Code, answer.Header())
	}
	if !strings.HasPrefix(answer.Body.String(), `{"detail":"a backing service is unavailable, retry shortly: `) {
		t.Errorf("body %s", answer.Body)
	}
}

func TestEveryRouteButTheProbesNeedsTheAppToken(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/shipments/o-1"},
		{http.MethodPost, OrderStatusChangedRoute},
		{http.MethodGet, "/dapr/subscribe"},
		{http.MethodGet, "/"},
	} {
		for _, token := range []string{"", "wrong"} {
			answer := h.request(c.method, c.path, nil, map[string]string{"dapr-api-token": token})
			if answer.Code != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: HTTP %d", c.method, c.path, token, answer.Code)
			}
			if got := strings.TrimSpace(answer.Body.String()); got != `{"detail":"this route is served through the Dapr sidecar only"}` {
				t.Errorf("body %s", got)
			}
		}
	}
	for path, want := range map[string]int{"/healthz": 204, "/readyz": 200, "/metrics": 200} {
		if got := h.request(http.MethodGet, path, nil, map[string]string{"dapr-api-token": ""}).Code; got != want {
			t.Errorf("%s without a token: HTTP %d, want %d", path, got, want)
		}
	}
	if got := h.metric(`shop_http_requests_total{method="GET",route="unmatched",status="401"}`); got == 0 {
		t.Error("refused calls are not counted")
	}
}

func TestWithoutAnAppTokenConfiguredNothingIsGuarded(t *testing.T) {
	h := newHarness(t, map[string]string{"APP_API_TOKEN": ""})
	h.app.Config.AppAPIToken = ""
	app, err := NewApp(h.app.Config, NewLogger(h.logs, "shipping", 0), h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	h.app = app
	if got := h.request(http.MethodGet, "/shipments/o-1", nil, map[string]string{"dapr-api-token": ""}).Code; got != http.StatusNotFound {
		t.Errorf("HTTP %d, want 404", got)
	}
}

func TestHealthzIs204(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.server.Close() // alive does not depend on the sidecar
	answer := h.request(http.MethodGet, "/healthz", nil, nil)
	if answer.Code != http.StatusNoContent || answer.Body.Len() != 0 {
		t.Fatalf("HTTP %d %q", answer.Code, answer.Body)
	}
}

func TestReadiness(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *fakeSidecar)
		status int
		body   string
	}{
		{"everything up", func(*fakeSidecar) {}, 200, `{"status":"ready"}`},
		{"the store down", func(f *fakeSidecar) { f.storeDown = true }, 503,
			`{"status":"not ready","reason":"state store statestore: HTTP 500 {\"errorCode\":\"ERR_STATE_GET\",\"message\":\"connection refused\"}\n"}`},
		{"the store and the broker down", func(f *fakeSidecar) { f.storeDown, f.brokerDown = true, true }, 503,
			`{"status":"not ready","reason":"state store statestore: HTTP 500 {\"errorCode\":\"ERR_STATE_GET\",\"message\":\"connection refused\"}\n; ` +
				`broker pubsub: HTTP 500 {\"errorCode\":\"ERR_PUBSUB_PUBLISH_MESSAGE\",\"message\":\"the broker is down\"}\n"}`},
		{"the sidecar not ready", func(f *fakeSidecar) { f.outbound, f.storeDown = 500, true }, 503,
			`{"status":"not ready","reason":"sidecar: HTTP 500 "}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fake.set(c.change)
			answer := h.request(http.MethodGet, "/readyz", nil, map[string]string{"dapr-api-token": ""})
			if answer.Code != c.status || strings.TrimSpace(answer.Body.String()) != c.body {
				t.Errorf("HTTP %d %s\nwant %d %s", answer.Code, answer.Body, c.status, c.body)
			}
		})
	}
}

func TestReadinessWithoutASidecar(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.server.Close()
	answer := h.request(http.MethodGet, "/readyz", nil, nil)
	var body map[string]string
	_ = json.Unmarshal(answer.Body.Bytes(), &body)
	if answer.Code != 503 || body["status"] != "not ready" || !strings.HasPrefix(body["reason"], "sidecar: unreachable (") {
		t.Errorf("HTTP %d %v", answer.Code, body)
	}
}

func TestTheReadinessProbePublishesToTheReadinessTopicUntraced(t *testing.T) {
	h := newHarness(t, nil)
	h.request(http.MethodGet, "/readyz", nil, nil)
	joined := strings.Join(h.fake.seen(), "\n")
	for _, want := range []string{
		"GET /v1.0/healthz/outbound 00",
		"GET /v1.0/state/statestore/readyz 00",
		"POST /v1.0/publish/pubsub/shop.readiness?metadata.ttlInSeconds=60 00",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q among:\n%s", want, joined)
		}
	}
}

func TestRequestsAreMeasuredByRouteTemplate(t *testing.T) {
	h := shipped(t, "o-1")
	h.request(http.MethodGet, "/shipments/o-1", nil, nil)
	h.request(http.MethodGet, "/shipments/o-2", nil, nil)
	h.request(http.MethodGet, "/nowhere", nil, nil)
	h.request(http.MethodGet, "/healthz", nil, nil)
	for series, want := range map[string]float64{
		`shop_http_requests_total{method="GET",route="/shipments/{order_id}",status="200"}`:                1,
		`shop_http_requests_total{method="GET",route="/shipments/{order_id}",status="404"}`:                1,
		`shop_http_requests_total{method="POST",route="/events/orders/order-status-changed",status="200"}`: 1,
		`shop_http_requests_total{method="GET",route="unmatched",status="404"}`:                            1,
		`shop_http_request_duration_seconds_count{method="GET",route="/shipments/{order_id}"}`:             2,
		`shop_events_handled_total{outcome="success",topic="orders.order-status-changed"}`:                 1,
		`shop_http_requests_total{method="GET",route="/healthz",status="204"}`:                             0,
		`shop_http_requests_total{method="GET",route="/shipments/o-1",status="200"}`:                       0,
	} {
		got := h.metric(series)
		if got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if !strings.Contains(h.logs.String(), `"logger":"shop.access","message":"GET /shipments/{order_id} 200 `) {
		t.Errorf("no access line:\n%s", h.logs.String())
	}
}

func TestTheImageHealthcheckAsksHealthzOnAppPort(t *testing.T) {
	status := http.StatusNoContent
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			t.Errorf("asked %s", r.URL.Path)
		}
		w.WriteHeader(status)
	}))
	defer server.Close()
	port := server.URL[strings.LastIndex(server.URL, ":")+1:]
	env := func(name string) string { return map[string]string{"APP_PORT": port}[name] }
	if err := healthcheck(env); err != nil {
		t.Fatalf("healthy app: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := healthcheck(env); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("an app answering 503: %v", err)
	}
	server.Close()
	if err := healthcheck(env); err == nil {
		t.Error("no app at all passed")
	}
}
