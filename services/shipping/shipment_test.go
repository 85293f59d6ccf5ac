package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

func TestTheTrackingNumberIsFixedByTheOrderId(t *testing.T) {
	if got := TrackingNumber("o-1"); got != TrackingNumber("o-1") || !strings.HasPrefix(got, "SHP-") || len(got) != 16 ||
		strings.ToUpper(got) != got {
		t.Errorf("tracking number %q", got)
	}
	if TrackingNumber("o-1") == TrackingNumber("o-2") {
		t.Error("two orders, one tracking number")
	}
	sum := sha256.Sum256([]byte("5277557e2f0a4c9b"))
	if got := TrackingNumber("5277557e2f0a4c9b"); got != "SHP-"+strings.ToUpper(hex.EncodeToString(sum[:6])) {
		t.Errorf("tracking number %q", got)
	}
}

func TestTheStepsAndTheirInstants(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 999_999_999, time.UTC)
	s := NewShipment("o-1", created, 8*time.Second, 15*time.Second, "")
	if s.CreatedAt.String() != "2025-01-02T03:04:05.999Z" {
		t.Errorf("created %s: truncated to the millisecond", s.CreatedAt)
	}
	for _, c := range []struct {
		after time.Duration
		want  Step
	}{{0, Wait}, {8*time.Second - time.Nanosecond, Wait}, {8 * time.Second, Dispatch}, {time.Hour, Dispatch}} {
		if got := s.NextStep(s.CreatedAt.Add(c.after)); got != c.want {
			t.Errorf("preparing, %s after: %v, want %v", c.after, got, c.want)
		}
	}
	d := s.Dispatched()
	if d.NextStep(s.CreatedAt.Add(time.Hour)) != AnnounceDispatch {
		t.Error("a recorded dispatch not announced before anything else")
	}
	d = d.AnnouncedAs(StatusDispatched)
	if d.NextStep(s.CreatedAt.Add(22*time.Second)) != Wait || d.NextStep(s.CreatedAt.Add(23*time.Second)) != Deliver {
		t.Error("delivery not due 15 s after the dispatch's due time")
	}
	delivered := d.Delivered()
	if delivered.NextStep(time.Time{}) != AnnounceDelivery || *delivered.DispatchedAt != s.DispatchDueAt || *delivered.DeliveredAt != s.DeliveryDueAt {
		t.Errorf("delivered %+v", delivered)
	}
	if delivered.AnnouncedAs(StatusDelivered).NextStep(time.Time{}) != Close {
		t.Error("an announced delivery not closed")
	}
	// Delivered, its dispatch never announced (a lost mark): the dispatch is announced
	// first, so consumers hear of the steps in order.
	if s.Delivered().NextStep(time.Time{}) != AnnounceDispatch {
		t.Error("a delivery announced before its dispatch")
	}
	if s.Status != StatusPreparing || s.DispatchedAt != nil {
		t.Error("a step changed the shipment it was taken from")
	}
}

func TestAStoredShipmentReadsBackEqual(t *testing.T) {
	s := NewShipment("o-1", time.Now(), 8*time.Second, 15*time.Second, "00-x").Delivered()
	encoded, _ := json.Marshal(s)
	var back Shipment
	if err := json.Unmarshal(encoded, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(encoded) {
		t.Errorf("%s\n%s", encoded, again)
	}
}

func TestJudgePayment(t *testing.T) {
	order := OrderStatusChanged{OrderID: "o-1", Status: "paid", TotalCents: 4900, Currency: "EUR"}
	record := func(status string, amount int64, currency string) *PaymentRecord {
		return &PaymentRecord{OrderID: "o-1", Status: status, AmountCents: amount, Currency: currency}
	}
	for _, c := range []struct {
		name   string
		record *PaymentRecord
		want   Verdict
	}{
		{"paid in full", record("succeeded", 4900, "EUR"), Verdict{Ship: true}},
		{"none", nil, Verdict{Refused: "payment_not_found"}},
		{"declined", record("declined", 4900, "EUR"), Verdict{Refused: "payment_declined"}},
		{"less", record("succeeded", 4899, "EUR"), Verdict{Refused: "payment_mismatch"}},
		{"other money", record("succeeded", 4900, "GBP"), Verdict{Refused: "payment_mismatch"}},
		{"another order's", &PaymentRecord{OrderID: "o-2", Status: "succeeded", AmountCents: 4900, Currency: "EUR"}, Verdict{Refused: "payment_mismatch"}},
		{"processing", record("processing", 4900, "EUR"), Verdict{Retry: true}},
		{"awaiting", record("awaiting_confirmation", 4900, "EUR"), Verdict{Retry: true}},
		{"unknown status", record("refunded", 4900, "EUR"), Verdict{Retry: true}},
	} {
		got := JudgePayment(order, c.record)
		got.Why = ""
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestTheOpenIndexChanges(t *testing.T) {
	index, changed := WithOpen(nil, "a")
	index, _ = WithOpen(index, "b")
	if again, changed2 := WithOpen(index, "a"); !changed || changed2 || len(again) != 2 {
		t.Errorf("%v", again)
	}
	without, changed := WithoutOpen(index, "a")
	if !changed || len(without) != 1 || without[0] != "b" || len(index) != 2 {
		t.Errorf("%v %v", without, index)
	}
	if _, changed := WithoutOpen(without, "a"); changed {
		t.Error("removed twice")
	}
}

func TestConfigDefaultsAndRefusals(t *testing.T) {
	cfg, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AppPort != 8107 || cfg.AppHost != "127.0.0.1" || cfg.AppID != "shipping" || cfg.DaprHTTPPort != 3500 ||
		cfg.StateStore != "statestore" || cfg.PubSub != "pubsub" || cfg.PaymentsAppID != "payments" ||
		cfg.ContractsDir != "contracts/events" || cfg.DispatchDelay != 8*time.Second ||
		cfg.DeliveryDelay != 15*time.Second || cfg.SweepInterval != time.Second || cfg.CallTimeout != 5*time.Second {
		t.Errorf("defaults %+v", cfg)
	}
	for name, value := range map[string]string{
		"APP_PORT": "http", "DAPR_HTTP_PORT": "70000", "SHIPPING_DISPATCH_DELAY_SECONDS": "-1",
		"SHIPPING_SWEEP_INTERVAL_SECONDS": "0",
	} {
		_, err := LoadConfig(func(n string) string {
			if n == name {
				return value
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v", name, value, err)
		}
	}
	cfg, _ = LoadConfig(func(n string) string {
		return map[string]string{"SHIPPING_DISPATCH_DELAY_SECONDS": "0.5", "APP_HOST": "0.0.0.0"}[n]
	})
	if cfg.DispatchDelay != 500*time.Millisecond || cfg.ListenAddress() != "0.0.0.0:8107" {
		t.Errorf("%+v", cfg)
	}
}

func TestAMissingContractNamesTheFix(t *testing.T) {
	_, err := LoadContracts(t.TempDir(), contractTopics...)
	if err == nil || !strings.Contains(err.Error(), "CONTRACTS_DIR") {
		t.Errorf("%v", err)
	}
}

func TestLogLinesHaveThePythonServicesKeysInTheirOrder(t *testing.T) {
	var out bytes.Buffer
	log := Named(NewLogger(&out, "shipping", slog.LevelInfo), "shipping.events")
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(withLogFields(context.Background()),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))
	bindLog(ctx, "order_id", "o-1")
	log.WarnContext(ctx, "not shipped", slog.Any(excKey, context.Canceled), "reason", "payment_declined")
	line := out.String()
	var keys []string
	decoder := json.NewDecoder(strings.NewReader(line))
	_, _ = decoder.Token()
	for decoder.More() {
		key, _ := decoder.Token()
		keys = append(keys, key.(string))
		var skip any
		_ = decoder.Decode(&skip)
	}
	want := "time level service logger message trace_id span_id order_id reason exc"
	if strings.Join(keys, " ") != want {
		t.Errorf("keys %v\nwant %s\nline %s", keys, want, line)
	}
	var fields map[string]string
	_ = json.Unmarshal([]byte(line), &fields)
	if fields["level"] != "warning" || fields["service"] != "shipping" || fields["logger"] != "shipping.events" ||
		fields["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || fields["exc"] != "context canceled" ||
		!strings.HasSuffix(fields["time"], "+00:00") || len(fields["time"]) != len("2025-01-02T03:04:05.123+00:00") {
		t.Errorf("line %s", line)
	}
}
