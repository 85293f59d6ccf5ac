package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// shipped is a harness with o-1 paid and its shipment created and listed.
func shipped(t *testing.T, orders ...string) *harness {
	t.Helper()
	h := newHarness(t, nil)
	for _, id := range orders {
		h.fake.paid(id, "succeeded", 4900, "EUR")
		if reply := h.deliver(statusEvent(id, "paid", 4900, "EUR"),
			map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}); reply != Success {
			t.Fatalf("paid %s: %s", id, reply)
		}
	}
	return h
}

func TestTheCarrierWaitsForTheDueTimes(t *testing.T) {
	h := shipped(t, "o-1")
	h.clock.Advance(8*time.Second - time.Millisecond)
	h.sweep()
	if len(h.fake.publishes()) != 0 || h.shipment("o-1").Status != StatusPreparing {
		t.Fatal("dispatched before its due time")
	}
	if got := h.metric("shop_shipping_open_shipments"); got != 1 {
		t.Errorf("open shipments gauge %v", got)
	}
}

func TestTheCarrierDispatchesThenDeliversRecordingBeforePublishing(t *testing.T) {
	h := shipped(t, "o-1")
	h.clock.Advance(8 * time.Second)
	if failed := h.sweep(); failed != 0 {
		t.Fatalf("%d shipments failed", failed)
	}
	s := h.shipment("o-1")
	if s.Status != StatusDispatched || s.DispatchedAt.String() != "2025-01-02T03:04:13.123Z" {
		t.Fatalf("after the dispatch sweep: %+v", s)
	}
	published := h.fake.publishes()
	if len(published) != 1 {
		t.Fatalf("published %+v", published)
	}
	dispatched := published[0]
	if dispatched.Topic != DispatchedTopic || dispatched.Type != DispatchedType || dispatched.ID != "o-1.dispatched" {
		t.Errorf("published %+v", dispatched)
	}
	want := `{"order_id":"o-1","tracking_number":"` + TrackingNumber("o-1") +
		`","carrier":"Parcelwise","dispatched_at":"2025-01-02T03:04:13.123Z"}`
	if string(dispatched.Data) != want {
		t.Errorf("data %s\nwant %s", dispatched.Data, want)
	}
	if !strings.HasPrefix(dispatched.Traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-") {
		t.Errorf("published with traceparent %q, not in the checkout's trace", dispatched.Traceparent)
	}

	h.clock.Advance(14 * time.Second) // not due: 15 s after the dispatch's due time
	h.sweep()
	if h.shipment("o-1").Status != StatusDispatched {
		t.Fatal("delivered early")
	}
	h.clock.Advance(time.Second)
	h.sweep()
	s = h.shipment("o-1")
	if s.Status != StatusDelivered || s.DeliveredAt.String() != "2025-01-02T03:04:28.123Z" ||
		s.DispatchedAt.String() != "2025-01-02T03:04:13.123Z" {
		t.Fatalf("after the delivery sweep: %+v", s)
	}
	if h.openIndex() == nil || len(h.openIndex()) != 0 {
		t.Errorf("open index %v, want empty", h.openIndex())
	}
	published = h.fake.publishes()
	if len(published) != 2 || published[1].ID != "o-1.delivered" || published[1].Topic != DeliveredTopic ||
		published[1].Type != DeliveredType {
		t.Fatalf("published %+v", published)
	}

	// Each step was recorded before it was published (a consumer that asks shipping
	// finds it), and the publish marked after.
	ops := h.fake.ops()
	save := "save " + shipmentKey("o-1")
	for _, event := range []string{"publish o-1.dispatched", "publish o-1.delivered"} {
		at := slices.Index(ops, event)
		if at < 1 || ops[at-1] != save || at+1 >= len(ops) || ops[at+1] != save {
			t.Errorf("%s not between two saves of the record: %v", event, ops)
		}
	}
	if got := h.metric(`shop_shipping_events_published_total{topic="shipping.shipment-delivered"}`); got != 1 {
		t.Errorf("published counted %v", got)
	}
	h.sweep()
	if len(h.fake.publishes()) != 2 {
		t.Error("a delivered shipment was announced again")
	}
}

func TestAStepIsNeverAnnouncedBeforeItIsRecorded(t *testing.T) {
	h := shipped(t, "o-1")
	h.clock.Advance(8 * time.Second)
	h.fake.set(func(f *fakeSidecar) { f.refuseSave[shipmentKey("o-1")] = 1 }) // the store fails
	if failed := h.sweep(); failed != 1 {
		t.Fatalf("failed %d, want 1", failed)
	}
	if h.shipment("o-1").Status != StatusPreparing || len(h.fake.publishes()) != 0 {
		t.Fatalf("announced a dispatch shipping has not recorded: %+v", h.fake.publishes())
	}
	if h.sweep() != 0 || h.shipment("o-1").Announced != StatusDispatched || len(h.fake.publishes()) != 1 {
		t.Fatalf("not dispatched and announced once the store is back: %+v", h.shipment("o-1"))
	}
}

func TestACrashBetweenPublishAndItsMarkRepublishesTheSameEvent(t *testing.T) {
	h := shipped(t, "o-1")
	h.clock.Advance(8 * time.Second)
	// The step is recorded, then the publish's mark fails: the "crash".
	h.fake.set(func(f *fakeSidecar) { f.refuseSaveAfter[shipmentKey("o-1")] = 1 })
	if failed := h.sweep(); failed != 1 {
		t.Fatalf("failed %d, want 1", failed)
	}
	if s := h.shipment("o-1"); s.Status != StatusDispatched || s.Announced != "" || len(h.fake.publishes()) != 1 {
		t.Fatalf("want recorded and published but not marked: %+v", s)
	}
	h.clock.Advance(3 * time.Second) // later: the same instant is announced
	if failed := h.sweep(); failed != 0 {
		t.Fatalf("failed %d", failed)
	}
	published := h.fake.publishes()
	if len(published) != 2 || published[0].ID != published[1].ID || string(published[0].Data) != string(published[1].Data) {
		t.Fatalf("the republish differs: %+v", published)
	}
	if h.shipment("o-1").Status != StatusDispatched {
		t.Error("not recorded after the republish")
	}
}

func TestAFreshCarrierFindsTheOpenShipmentsOfTheLastOne(t *testing.T) {
	h := shipped(t, "o-1")
	// A new process: another app on the same sidecar, nothing in memory.
	cfg := h.app.Config
	restarted, err := NewApp(cfg, NewLogger(h.logs, "shipping", 0), func() time.Time { return h.clock.Now().Add(time.Minute) })
	if err != nil {
		t.Fatal(err)
	}
	restarted.Carrier.Sweep(context.Background()) // dispatches
	restarted.Carrier.Sweep(context.Background()) // delivers
	if s := h.shipment("o-1"); s.Status != StatusDelivered {
		t.Fatalf("status %s", s.Status)
	}
	if len(h.openIndex()) != 0 {
		t.Errorf("open index %v", h.openIndex())
	}
}

func TestOneFailingShipmentDoesNotHoldUpTheOthers(t *testing.T) {
	h := shipped(t, "o-1", "o-2", "o-3")
	h.clock.Advance(8 * time.Second)
	h.fake.set(func(f *fakeSidecar) { f.refusePublish["o-2.dispatched"] = true })
	if failed := h.sweep(); failed != 1 {
		t.Fatalf("failed %d, want 1", failed)
	}
	// o-2's dispatch is recorded; only its announcement waits for the broker.
	for id, want := range map[string]string{"o-1": StatusDispatched, "o-2": "", "o-3": StatusDispatched} {
		if s := h.shipment(id); s.Status != StatusDispatched || s.Announced != want {
			t.Errorf("%s: %s announced %q, want dispatched announced %q", id, s.Status, s.Announced, want)
		}
	}
	h.fake.set(func(f *fakeSidecar) { delete(f.refusePublish, "o-2.dispatched") })
	h.sweep()
	if got := h.shipment("o-2").Announced; got != StatusDispatched {
		t.Errorf("o-2's dispatch not announced once the broker took it: %q", got)
	}
}

func TestEveryPublishedPayloadMatchesItsCommittedContract(t *testing.T) {
	h := shipped(t, "o-1", "o_2", "A-very-long-order-id-of-sixty-four-characters-0123456789abcdefg")
	h.clock.Advance(time.Hour)
	h.sweep()
	contracts, err := LoadContracts("../../contracts/events", contractTopics...)
	if err != nil {
		t.Fatal(err)
	}
	published := h.fake.publishes()
	if len(published) != 6 {
		t.Fatalf("published %d events, want 6", len(published))
	}
	for _, p := range published {
		if err := contracts.Check(p.Topic, p.Data); err != nil {
			t.Errorf("%s: %v", p.ID, err)
		}
		var fields map[string]any
		_ = json.Unmarshal(p.Data, &fields)
		if len(fields) != 4 {
			t.Errorf("%s: fields %v", p.ID, fields)
		}
	}
}

func TestAnEventBreakingItsContractIsNeverPublished(t *testing.T) {
	h := newHarness(t, nil)
	// A record only a bug could write: an order id the contract refuses.
	bad := NewShipment("not an id!", h.clock.Now(), 0, 0, "")
	stored, _ := json.Marshal(bad)
	h.fake.put(shipmentKey(bad.OrderID), stored)
	index, _ := json.Marshal([]string{bad.OrderID})
	h.fake.put(openShipmentsKey, index)
	if failed := h.sweep(); failed != 1 {
		t.Fatalf("failed %d, want 1", failed)
	}
	if len(h.fake.publishes()) != 0 {
		t.Fatal("published an event that breaks its contract")
	}
	if got := h.metric(`shop_shipping_publishes_invalid_total{topic="shipping.shipment-dispatched"}`); got != 1 {
		t.Errorf("counted %v", got)
	}
	if !strings.Contains(h.logs.String(), `"level":"error"`) {
		t.Error("no error logged")
	}
}

func TestAnIndexEntryWithoutItsRecordIsUnlisted(t *testing.T) {
	h := newHarness(t, nil)
	index, _ := json.Marshal([]string{"ghost"})
	h.fake.put(openShipmentsKey, index)
	h.sweep()
	if len(h.openIndex()) != 0 {
		t.Errorf("open index %v", h.openIndex())
	}
}

func TestTheCarrierSurvivesTheStoreGoingDown(t *testing.T) {
	h := shipped(t, "o-1")
	h.clock.Advance(8 * time.Second)
	h.fake.set(func(f *fakeSidecar) { f.storeDown = true })
	if failed := h.sweep(); failed == 0 {
		t.Fatal("a sweep without a store reported no failure")
	}
	h.fake.set(func(f *fakeSidecar) { f.storeDown = false })
	h.sweep()
	if h.shipment("o-1").Status != StatusDispatched {
		t.Error("not dispatched once the store came back")
	}
}

func TestRunSweepsUntilStopped(t *testing.T) {
	h := shipped(t, "o-1")
	h.clock.Advance(time.Hour)
	h.app.Carrier.interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.app.Carrier.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for h.shipment("o-1").Status != StatusDelivered && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if h.shipment("o-1").Status != StatusDelivered {
		t.Fatal("not delivered by the running carrier")
	}
}
