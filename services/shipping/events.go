package main

// The subscription handler of `orders.order-status-changed` (delivered by daprd per
// components/common/subscriptions.yaml), with the rules of every Python handler
// (libs/shop_dapr/subscriber.py, cloudevents.py): the raw body is read, never bound to
// a model whose refusal would be an error status redelivered forever; whatever is not a
// valid event of the topic is answered DROP, so it lands in the dead-letter topic at
// once; an outage is answered RETRY. Every answer is HTTP 200 with the reply in JSON.

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// Reply is what a subscriber answers: the sidecar acknowledges SUCCESS, redelivers
// RETRY and dead-letters DROP.
type Reply string

const (
	Success Reply = "SUCCESS"
	Retry   Reply = "RETRY"
	Drop    Reply = "DROP"
)

const (
	OrderStatusChangedTopic = "orders.order-status-changed"
	OrderStatusChangedType  = "shop.orders.order-status-changed.v1"
	OrderStatusChangedRoute = "/events/orders/order-status-changed"
)

// The largest delivery read: an order of 1000 lines is far below.
const maxEventBytes = 4 << 20

// CloudEvent is the envelope daprd delivers (cloudevents.py CloudEvent): these
// attributes and the data, other members ignored.
type CloudEvent struct {
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	SpecVersion string          `json:"specversion"`
	Topic       *string         `json:"topic"`
	PubSubName  *string         `json:"pubsubname"`
	Traceparent *string         `json:"traceparent"`
	Data        json.RawMessage `json:"data"`
}

type EventHandler struct {
	service   *Service
	contracts *Contracts
	metrics   *Metrics
	log       *slog.Logger
}

func (h *EventHandler) OrderStatusChanged(w http.ResponseWriter, r *http.Request) {
	reply := h.handle(r)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]Reply{"status": reply})
}

func (h *EventHandler) handle(r *http.Request) (reply Reply) {
	ctx := r.Context()
	defer func() {
		// A bug in a handler is a redelivery, as an exception is in Python, never a
		// crashed process or a dropped paid order.
		if failure := recover(); failure != nil {
			h.log.ErrorContext(ctx, r.URL.Path+" delivery not handled, asking for redelivery",
				slog.Any(excKey, fmt.Errorf("panic: %v", failure)))
			reply = Retry
		}
	}()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEventBytes))
	if err != nil {
		h.log.WarnContext(ctx, r.URL.Path+" delivery not read, asking for redelivery", slog.Any(excKey, err))
		return Retry
	}
	event, reason, why := parseEvent(body, OrderStatusChangedType)
	if event != nil && event.Topic != nil {
		setDeliveryTopic(ctx, *event.Topic)
	}
	if reason == "" {
		if err := h.contracts.Check(OrderStatusChangedTopic, event.Data); err != nil {
			reason, why = "invalid_data", err.Error()
		}
	}
	if reason != "" {
		h.metrics.EventsRefused.WithLabelValues(reason).Inc()
		h.log.WarnContext(ctx, "dropping a delivery to "+r.URL.Path+": "+why, "reason", reason)
		return Drop
	}
	var order OrderStatusChanged
	if err := json.Unmarshal(event.Data, &order); err != nil {
		// The schema passed but Go cannot hold it (a total written 4900.0): not usable.
		h.metrics.EventsRefused.WithLabelValues("invalid_data").Inc()
		h.log.WarnContext(ctx, "dropping a delivery to "+r.URL.Path+": "+err.Error(), "reason", "invalid_data")
		return Drop
	}
	bindLog(ctx, "order_id", order.OrderID)
	if order.Status != "paid" {
		return Success // pending, cancelled (never shipped), shipped, delivered: nothing to do
	}
	outcome, err := h.service.ShipPaidOrder(ctx, order)
	if err != nil {
		h.log.WarnContext(ctx, r.URL.Path+" event "+event.ID+" not handled, asking for redelivery",
			slog.Any(excKey, err))
		return Retry
	}
	if outcome.Refused != "" {
		h.metrics.EventsRefused.WithLabelValues(outcome.Refused).Inc()
	}
	return outcome.Reply
}

// parseEvent reads a delivery's body as a CloudEvent of eventType. When it is not one,
// reason names why for the metrics (not_json, invalid_event, wrong_type) and why says
// it for the log.
func parseEvent(body []byte, eventType string) (event *CloudEvent, reason, why string) {
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, "not_json", "the body is not JSON"
	}
	object, ok := raw.(map[string]any)
	if !ok {
		return nil, "invalid_event", "the body is not a JSON object"
	}
	// The envelope's rules (cloudevents.py): four string attributes, id not empty, three
	// optional ones string or null, and data present.
	for _, name := range []string{"id", "source", "type", "specversion"} {
		if _, ok := object[name].(string); !ok {
			return nil, "invalid_event", fmt.Sprintf("attribute %q is missing or not a string", name)
		}
	}
	for _, name := range []string{"topic", "pubsubname", "traceparent"} {
		if value, present := object[name]; present && value != nil {
			if _, ok := value.(string); !ok {
				return nil, "invalid_event", fmt.Sprintf("attribute %q is not a string", name)
			}
		}
	}
	if _, present := object["data"]; !present {
		return nil, "invalid_event", "the event has no data"
	}
	event = &CloudEvent{}
	if err := json.Unmarshal(body, event); err != nil {
		return nil, "invalid_event", err.Error()
	}
	if event.ID == "" {
		return event, "invalid_event", "the event's id is empty"
	}
	if event.Type != eventType {
		return event, "wrong_type", fmt.Sprintf("CloudEvent type %q, not %q", event.Type, eventType)
	}
	return event, "", ""
}
