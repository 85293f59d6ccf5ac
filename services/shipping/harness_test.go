package main

// The test harness: the real app, wired by NewApp, against the fake sidecar, with a
// clock the test moves and the log lines kept.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testAppToken  = "app-token-for-tests"
	testDaprToken = "dapr-token-for-tests"
)

func TestMain(m *testing.M) {
	// Real spans (not exported), so trace ids reach logs, records and publishes.
	if _, err := SetupTracing("shipping", "", NewLogger(io.Discard, "shipping", slog.LevelInfo)); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	t     *testing.T
	fake  *fakeSidecar
	app   *App
	clock *fakeClock
	logs  *syncBuffer
}

func newHarness(t *testing.T, env map[string]string) *harness {
	t.Helper()
	fake := newFakeSidecar(t)
	fake.token = testDaprToken
	values := map[string]string{
		"DAPR_HTTP_PORT":            fake.port(),
		"DAPR_API_TOKEN":            testDaprToken,
		"APP_API_TOKEN":             testAppToken,
		"CONTRACTS_DIR":             "../../contracts/events", // the committed schemas
		"DAPR_CALL_TIMEOUT_SECONDS": "2",
	}
	for name, value := range env {
		values[name] = value
	}
	cfg, err := LoadConfig(func(name string) string { return values[name] })
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 123_456_789, time.UTC)}
	logs := &syncBuffer{}
	app, err := NewApp(cfg, NewLogger(logs, "shipping", slog.LevelDebug), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, fake: fake, app: app, clock: clock, logs: logs}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})
	return h
}

// request sends one request to the app, with the sidecar's app token unless told not to.
func (h *harness) request(method, path string, body []byte, header map[string]string) *httptest.ResponseRecorder {
	h.t.Helper()
	request := httptest.NewRequest(method, path, bytes.NewReader(body))
	request.Header.Set("dapr-api-token", testAppToken)
	for name, value := range header {
		if value == "" {
			request.Header.Del(name)
		} else {
			request.Header.Set(name, value)
		}
	}
	recorder := httptest.NewRecorder()
	h.app.Handler.ServeHTTP(recorder, request)
	return recorder
}

// deliver posts a delivery as daprd does and returns the app's reply.
func (h *harness) deliver(body []byte, header map[string]string) Reply {
	h.t.Helper()
	answer := h.request(http.MethodPost, OrderStatusChangedRoute, body, header)
	if answer.Code != http.StatusOK {
		h.t.Fatalf("delivery answered HTTP %d %s, want 200", answer.Code, answer.Body)
	}
	var reply struct{ Status Reply }
	if err := json.Unmarshal(answer.Body.Bytes(), &reply); err != nil {
		h.t.Fatalf("delivery answered %q: %v", answer.Body, err)
	}
	return reply.Status
}

// statusEvent is a valid CloudEvent of orders.order-status-changed, as daprd delivers it.
func statusEvent(orderID, status string, total int64, currency string) []byte {
	return []byte(fmt.Sprintf(`{
		"id": %q, "source": "orders", "type": "shop.orders.order-status-changed.v1",
		"specversion": "1.0", "datacontenttype": "application/json",
		"topic": "orders.order-status-changed", "pubsubname": "pubsub",
		"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"data": {"order_id": %q, "user_id": "u-1", "email": "ada@example.com", "status": %q,
		         "total_cents": %d, "currency": %q, "reason": null, "tracking_number": null,
		         "lines": [{"product_id": "teapot", "name": "Cast iron teapot", "quantity": 1,
		                    "unit_price_cents": %d}]}}`,
		orderID+"."+status, orderID, status, total, currency, total))
}

func (h *harness) shipment(orderID string) *Shipment {
	h.t.Helper()
	entry := h.fake.entry(shipmentKey(orderID))
	if entry == nil {
		return nil
	}
	var s Shipment
	if err := json.Unmarshal(entry.value, &s); err != nil {
		h.t.Fatal(err)
	}
	return &s
}

func (h *harness) openIndex() []string {
	h.t.Helper()
	entry := h.fake.entry(openShipmentsKey)
	if entry == nil {
		return nil
	}
	var ids []string
	if err := json.Unmarshal(entry.value, &ids); err != nil {
		h.t.Fatal(err)
	}
	return ids
}

func (h *harness) sweep() int {
	return h.app.Carrier.Sweep(context.Background())
}

// metric is the value of one series in /metrics' text, 0 when absent.
func (h *harness) metric(series string) float64 {
	h.t.Helper()
	text := h.request(http.MethodGet, "/metrics", nil, map[string]string{"dapr-api-token": ""}).Body.String()
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, series+" ") {
			var value float64
			fmt.Sscan(strings.TrimPrefix(line, series+" "), &value)
			return value
		}
	}
	return 0
}
