package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const outcomeSeries = `shop_events_handled_total{outcome="%s",topic="orders.order-status-changed"}`

func TestPaidOrderWithItsPaymentIsShippedAndListedOpen(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.paid("o-1", "succeeded", 4900, "EUR")

	if reply := h.deliver(statusEvent("o-1", "paid", 4900, "EUR"), nil); reply != Success {
		t.Fatalf("reply %s, want SUCCESS", reply)
	}
	s := h.shipment("o-1")
	if s == nil {
		t.Fatal("no shipment stored")
	}
	if s.Status != StatusPreparing || s.TrackingNumber != TrackingNumber("o-1") || s.Carrier != "Parcelwise" {
		t.Errorf("stored %+v", s)
	}
	if got, want := s.CreatedAt.String(), "2025-01-02T03:04:05.123Z"; got != want {
		t.Errorf("created_at %s, want %s", got, want)
	}
	if got, want := s.DispatchDueAt.String(), "2025-01-02T03:04:13.123Z"; got != want {
		t.Errorf("dispatch due %s, want %s (8 s later)", got, want)
	}
	if got, want := s.DeliveryDueAt.String(), "2025-01-02T03:04:28.123Z"; got != want {
		t.Errorf("delivery due %s, want %s (15 s after dispatch)", got, want)
	}
	if !slices.Equal(h.openIndex(), []string{"o-1"}) {
		t.Errorf("open index %v", h.openIndex())
	}
	if got := h.metric("shop_shipments_created_total"); got != 1 {
		t.Errorf("shipments created %v", got)
	}
	if got := h.metric(strings.ReplaceAll(outcomeSeries, "%s", "success")); got != 1 {
		t.Errorf("success deliveries counted %v", got)
	}
}

func TestRedeliveryCreatesNothingNew(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.paid("o-1", "succeeded", 4900, "EUR")
	h.deliver(statusEvent("o-1", "paid", 4900, "EUR"), nil)
	first := h.fake.entry(shipmentKey("o-1"))

	h.clock.Advance(3e9)
	for range 3 {
		if reply := h.deliver(statusEvent("o-1", "paid", 4900, "EUR"), nil); reply != Success {
			t.Fatalf("redelivery reply %s", reply)
		}
	}
	again := h.fake.entry(shipmentKey("o-1"))
	if again.etag != first.etag || string(again.value) != string(first.value) {
		t.Errorf("the record was written again:\n%s\n%s", first.value, again.value)
	}
	if !slices.Equal(h.openIndex(), []string{"o-1"}) {
		t.Errorf("open index %v, want the order once", h.openIndex())
	}
	if got := h.metric("shop_shipments_created_total"); got != 1 {
		t.Errorf("shipments created %v, want 1", got)
	}
	if h.fake.asked() != 1 {
		t.Errorf("payments asked %d times: a redelivery of a shipped order needs no check", h.fake.asked())
	}
}

func TestCrashBetweenRecordAndIndexIsRepairedByTheRedelivery(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.paid("o-1", "succeeded", 4900, "EUR")
	h.fake.set(func(f *fakeSidecar) { f.refuseSave[openShipmentsKey] = 1 })

	if reply := h.deliver(statusEvent("o-1", "paid", 4900, "EUR"), nil); reply != Retry {
		t.Fatalf("reply %s with the index unwritable, want RETRY", reply)
	}
	if h.shipment("o-1") == nil || h.openIndex() != nil {
		t.Fatalf("want the record without the index entry, as a crash leaves it")
	}
	if reply := h.deliver(statusEvent("o-1", "paid", 4900, "EUR"), nil); reply != Success {
		t.Fatalf("redelivery reply %s", reply)
	}
	if !slices.Equal(h.openIndex(), []string{"o-1"}) {
		t.Errorf("open index %v after the redelivery", h.openIndex())
	}
}

func TestRecordWithoutIndexEntryFromAnEarlierLifeIsIndexed(t *testing.T) {
	h := newHarness(t, nil)
	stored, _ := json.Marshal(NewShipment("o-9", h.clock.Now(), 8e9, 15e9, ""))
	h.fake.put(shipmentKey("o-9"), stored) // payments is not even asked: it was checked
	if reply := h.deliver(statusEvent("o-9", "paid", 4900, "EUR"), nil); reply != Success {
		t.Fatalf("reply %s", reply)
	}
	if !slices.Equal(h.openIndex(), []string{"o-9"}) {
		t.Errorf("open index %v", h.openIndex())
	}
	if h.fake.asked() != 0 {
		t.Errorf("payments asked %d times", h.fake.asked())
	}
}

func TestDeliveredShipmentIsNotListedOpenAgain(t *testing.T) {
	h := newHarness(t, nil)
	stored, _ := json.Marshal(NewShipment("o-2", h.clock.Now(), 8e9, 15e9, "").Delivered())
	h.fake.put(shipmentKey("o-2"), stored)
	if reply := h.deliver(statusEvent("o-2", "paid", 4900, "EUR"), nil); reply != Success {
		t.Fatalf("reply %s", reply)
	}
	if h.openIndex() != nil {
		t.Errorf("open index %v", h.openIndex())
	}
}

func TestPaidEventsPaymentsContradictAreDroppedAndCounted(t *testing.T) {
	cases := []struct {
		name    string
		payment func(f *fakeSidecar)
		reason  string
	}{
		{"no payment at all (forged)", func(*fakeSidecar) {}, "payment_not_found"},
		{"declined", func(f *fakeSidecar) { f.paid("o-1", "declined", 4900, "EUR") }, "payment_declined"},
		{"another amount", func(f *fakeSidecar) { f.paid("o-1", "succeeded", 100, "EUR") }, "payment_mismatch"},
		{"another currency", func(f *fakeSidecar) { f.paid("o-1", "succeeded", 4900, "USD") }, "payment_mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c.payment(h.fake)
			if reply := h.deliver(statusEvent("o-1", "paid", 4900, "EUR"), nil); reply != Drop {
				t.Fatalf("reply %s, want DROP", reply)
			}
			if h.shipment("o-1") != nil || h.openIndex() != nil {
				t.Error("something was shipped")
			}
			if got := h.metric(`shop_shipping_events_refused_total{reason="` + c.reason + `"}`); got != 1 {
				t.Errorf("refusals counted %v for %s", got, c.reason)
			}
			if got := h.metric(strings.ReplaceAll(outcomeSeries, "%s", "drop")); got != 1 {
				t.Errorf("drops counted %v", got)
			}
		})
	}
}

func TestPaidEventsNotKnownYetOrUnreachableAreRetried(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *fakeSidecar)
	}{
		{"processing", func(f *fakeSidecar) { f.paid("o-1", "processing", 4900, "EUR") }},
		{"awaiting confirmation", func(f *fakeSidecar) { f.paid("o-1", "awaiting_confirmation", 4900, "EUR") }},
		{"payments failing", func(f *fakeSidecar) { f.answerPayment("o-1", 503, `{"detail":"down"}`) }},
		{"an access-control refusal", func(f *fakeSidecar) { f.answerPayment("o-1", 403, `{"errorCode":"ERR_PERMISSION_DENIED"}`) }},
		{"an unreadable answer", func(f *fakeSidecar) { f.answerPayment("o-1", 200, `<html>`) }},
		{"the store down", func(f *fakeSidecar) {
			f.paid("o-1", "succeeded", 4900, "EUR")
			f.set(func(f *fakeSidecar) { f.storeDown = true })
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c.change(h.fake)
			if reply := h.deliver(statusEvent("o-1", "paid", 4900, "EUR"), nil); reply != Retry {
				t.Fatalf("reply %s, want RETRY", reply)
			}
			h.fake.set(func(f *fakeSidecar) { f.storeDown = false })
			if h.shipment("o-1") != nil {
				t.Error("shipped before the payment was known")
			}
		})
	}
}

func TestSidecarGoneIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.server.Close()
	if reply := h.deliver(statusEvent("o-1", "paid", 4900, "EUR"), nil); reply != Retry {
		t.Fatalf("reply %s, want RETRY", reply)
	}
}

func TestOtherStatusesAreAcknowledgedAndNothingHappens(t *testing.T) {
	for _, status := range []string{"pending", "cancelled", "shipped", "delivered"} {
		t.Run(status, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fake.paid("o-1", "succeeded", 4900, "EUR") // even so: a cancelled order is never shipped
			if reply := h.deliver(statusEvent("o-1", status, 4900, "EUR"), nil); reply != Success {
				t.Fatalf("reply %s, want SUCCESS", reply)
			}
			if h.shipment("o-1") != nil || h.fake.asked() != 0 || len(h.fake.ops()) != 0 {
				t.Errorf("something happened: %v", h.fake.ops())
			}
		})
	}
}

func TestMalformedDeliveriesAreDropped(t *testing.T) {
	valid := string(statusEvent("o-1", "paid", 4900, "EUR"))
	cases := []struct{ name, body, reason string }{
		{"not JSON", `{"id": `, "not_json"},
		{"not an object", `["paid"]`, "invalid_event"},
		{"no id", strings.Replace(valid, `"id": "o-1.paid",`, "", 1), "invalid_event"},
		{"empty id", strings.Replace(valid, `"id": "o-1.paid"`, `"id": ""`, 1), "invalid_event"},
		{"a topic that is a number", strings.Replace(valid, `"topic": "orders.order-status-changed"`, `"topic": 7`, 1), "invalid_event"},
		{"no data", valid[:strings.Index(valid, `,
		"data"`)] + "}", "invalid_event"},
		{"another type", strings.Replace(valid, "shop.orders.order-status-changed.v1", "shop.orders.order-created.v1", 1), "wrong_type"},
		{"an unknown status", strings.Replace(valid, `"status": "paid"`, `"status": "lost"`, 1), "invalid_data"},
		{"no email", strings.Replace(valid, `"email": "ada@example.com",`, "", 1), "invalid_data"},
		{"a bad order id", strings.Replace(valid, `"order_id": "o-1"`, `"order_id": "o 1/.."`, 1), "invalid_data"},
		{"a total as a string", strings.Replace(valid, `"total_cents": 4900`, `"total_cents": "4900"`, 1), "invalid_data"},
		{"a negative quantity", strings.Replace(valid, `"quantity": 1`, `"quantity": -1`, 1), "invalid_data"},
		{"data that is a string", valid[:strings.Index(valid, `"data"`)] + `"data": "paid"}`, "invalid_data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fake.paid("o-1", "succeeded", 4900, "EUR")
			if reply := h.deliver([]byte(c.body), nil); reply != Drop {
				t.Fatalf("reply %s, want DROP for %s", reply, c.body)
			}
			if h.shipment("o-1") != nil || h.fake.asked() != 0 {
				t.Error("acted on a malformed delivery")
			}
			if got := h.metric(`shop_shipping_events_refused_total{reason="` + c.reason + `"}`); got != 1 {
				t.Errorf("refusals counted %v for %s", got, c.reason)
			}
		})
	}
}

func TestTheValidEventOfTheTestsIsValid(t *testing.T) {
	// Guards the cases above: each must fail for its own reason, not the base event's.
	contracts, err := LoadContracts("../../contracts/events", contractTopics...)
	if err != nil {
		t.Fatal(err)
	}
	var event CloudEvent
	if err := json.Unmarshal(statusEvent("o-1", "paid", 4900, "EUR"), &event); err != nil {
		t.Fatal(err)
	}
	if err := contracts.Check(OrderStatusChangedTopic, event.Data); err != nil {
		t.Fatal(err)
	}
}

func TestTheShipmentJoinsTheTraceOfItsPaidEvent(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.paid("o-1", "succeeded", 4900, "EUR")
	const checkout = "4bf92f3577b34da6a3ce929d0e0e4736"
	h.deliver(statusEvent("o-1", "paid", 4900, "EUR"),
		map[string]string{"traceparent": "00-" + checkout + "-00f067aa0ba902b7-01"})
	s := h.shipment("o-1")
	if !strings.HasPrefix(s.Traceparent, "00-"+checkout+"-") {
		t.Errorf("stored traceparent %q, want the checkout's trace", s.Traceparent)
	}
	if !strings.Contains(h.logs.String(), `"trace_id":"`+checkout+`"`) {
		t.Errorf("no log line of the delivery carries its trace id")
	}
}

func TestADeliveryWithoutTheAppTokenIsRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.paid("o-1", "succeeded", 4900, "EUR")
	answer := h.request(http.MethodPost, OrderStatusChangedRoute, statusEvent("o-1", "paid", 4900, "EUR"),
		map[string]string{"dapr-api-token": ""})
	if answer.Code != http.StatusUnauthorized {
		t.Fatalf("HTTP %d, want 401", answer.Code)
	}
	if h.shipment("o-1") != nil {
		t.Error("shipped on a delivery that bypassed the sidecar")
	}
}

func TestABurstOfPaidDeliveriesAllGetListed(t *testing.T) {
	// A backlog after an outage arrives at once: every delivery must get its order into
	// the one index key, none left to exhaust its retries.
	// A generous deadline: under -race on a busy machine 100 calls at once are slow.
	h := newHarness(t, map[string]string{"DAPR_CALL_TIMEOUT_SECONDS": "20"})
	const orders = 100
	for i := range orders {
		h.fake.paid(fmt.Sprintf("o-%d", i), "succeeded", 4900, "EUR")
	}
	replies := make(chan Reply, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() { replies <- h.deliver(statusEvent(fmt.Sprintf("o-%d", i), "paid", 4900, "EUR"), nil) })
	}
	wg.Wait()
	close(replies)
	for reply := range replies {
		if reply != Success {
			t.Fatalf("reply %s", reply)
		}
	}
	if got := len(h.openIndex()); got != orders {
		t.Errorf("%d orders listed open, want %d", got, orders)
	}
	// Fewer index writes than deliveries: the changes were applied in batches.
	writes := 0
	for _, op := range h.fake.ops() {
		if op == "save "+openShipmentsKey {
			writes++
		}
	}
	t.Logf("%d deliveries, %d index writes", orders, writes)
}

func TestTwoProcessesListingAtOnceLoseNothing(t *testing.T) {
	// Two shipping instances on one store: their own queues, the ETag between them.
	h := newHarness(t, nil)
	other := &Shipments{sidecar: h.app.Sidecar}
	mine := &Shipments{sidecar: h.app.Sidecar}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		wg.Go(func() { errs <- mine.Open(context.Background(), fmt.Sprintf("a-%d", i)) })
		wg.Go(func() { errs <- other.Open(context.Background(), fmt.Sprintf("b-%d", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(h.openIndex()); got != 100 {
		t.Errorf("%d listed, want 100", got)
	}
}

func TestASecondCreateFindsTheFirst(t *testing.T) {
	// Two deliveries of one paid event, both past their read: the create-only write
	// lets one in, and the other answers what it wrote.
	h := newHarness(t, nil)
	store := &Shipments{sidecar: h.app.Sidecar}
	first := NewShipment("o-1", h.clock.Now(), 8e9, 15e9, "")
	second := NewShipment("o-1", h.clock.Now().Add(time.Second), 8e9, 15e9, "")
	if _, created, err := store.Create(context.Background(), first); err != nil || !created {
		t.Fatalf("first: %v %v", created, err)
	}
	got, created, err := store.Create(context.Background(), second)
	if err != nil || created || got.CreatedAt != first.CreatedAt {
		t.Fatalf("second: %+v %v %v", got, created, err)
	}
}

func TestEveryRefusalReasonAndTopicIsExportedFromTheStart(t *testing.T) {
	h := newHarness(t, nil)
	text := h.request(http.MethodGet, "/metrics", nil, nil).Body.String()
	want := []string{`shop_shipping_events_published_total{topic="shipping.shipment-delivered"} 0`}
	for _, reason := range refusalReasons {
		want = append(want, `shop_shipping_events_refused_total{reason="`+reason+`"} 0`)
	}
	for _, line := range want {
		if !strings.Contains(text, "\n"+line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}
