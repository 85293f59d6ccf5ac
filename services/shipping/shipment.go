package main

// The shipment domain: the stored record, its tracking number, its due times and the
// events it yields. Pure: no I/O, no clock (callers pass `now`), so every rule here is
// tested without a sidecar.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Carrier is the one simulated carrier every parcel leaves with.
const CarrierName = "Parcelwise"

// Shipment statuses, as the ShipmentRecord contract spells them.
const (
	StatusPreparing  = "preparing"
	StatusDispatched = "dispatched"
	StatusDelivered  = "delivered"
)

// The order id of every contract (libs/shop_contracts/common.py OrderId).
var orderIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// ValidOrderID says whether id may name an order (and so a state key).
func ValidOrderID(id string) bool { return orderIDPattern.MatchString(id) }

// TrackingNumber is derived from the order id alone, so a redelivered paid event
// creates exactly the same shipment, whichever instance or attempt writes it first.
func TrackingNumber(orderID string) string {
	sum := sha256.Sum256([]byte(orderID))
	return "SHP-" + strings.ToUpper(hex.EncodeToString(sum[:])[:12])
}

// Timestamp is a UTC instant written as RFC 3339 with milliseconds ("...T03:04:05.123Z").
// One fixed layout: an event republished after a crash is byte-identical to the first.
type Timestamp struct{ time.Time }

const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// At truncates t to the millisecond the layout keeps, so a stored instant reads back equal.
func At(t time.Time) Timestamp { return Timestamp{t.UTC().Truncate(time.Millisecond)} }

func (t Timestamp) String() string { return t.UTC().Format(timestampLayout) }

func (t Timestamp) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

func (t *Timestamp) UnmarshalJSON(raw []byte) error {
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return err
	}
	parsed, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return err
	}
	*t = At(parsed)
	return nil
}

// Shipment is the stored record (state key `shipment-<order_id>`): the ShipmentRecord
// contract's fields (stored flat, as encoding/json writes an embedded struct), plus the
// due times fixed at creation (a change of the delays later does not move a shipment
// already promised) and the trace it belongs to.
type Shipment struct {
	ShipmentRecord
	DispatchDueAt Timestamp `json:"dispatch_due_at"`
	DeliveryDueAt Timestamp `json:"delivery_due_at"`
	// The W3C traceparent of the paid event's delivery: the carrier's events continue
	// the checkout's trace, even when published after a restart.
	Traceparent string `json:"traceparent,omitempty"`
	// The last status whose event was published ("" before the first): a step is
	// recorded before it is announced, so what GET /shipments answers is never behind
	// an event a consumer checks against it.
	Announced string `json:"announced,omitempty"`
}

// NewShipment is the shipment of a paid order created at `now`. Its dispatch is due
// after dispatchDelay, its delivery deliveryDelay after that dispatch.
func NewShipment(orderID string, now time.Time, dispatchDelay, deliveryDelay time.Duration, traceparent string) Shipment {
	created := At(now)
	dispatchDue := At(created.Add(dispatchDelay))
	return Shipment{
		ShipmentRecord: ShipmentRecord{
			OrderID:        orderID,
			Status:         StatusPreparing,
			TrackingNumber: TrackingNumber(orderID),
			Carrier:        CarrierName,
			CreatedAt:      created,
		},
		DispatchDueAt: dispatchDue,
		DeliveryDueAt: At(dispatchDue.Add(deliveryDelay)),
		Traceparent:   traceparent,
	}
}

// ShipmentRecord is the answer of GET /shipments/{order_id}
// (libs/shop_contracts/shipping.py ShipmentRecord): the contract's fields only.
type ShipmentRecord struct {
	OrderID        string     `json:"order_id"`
	Status         string     `json:"status"`
	TrackingNumber string     `json:"tracking_number"`
	Carrier        string     `json:"carrier"`
	CreatedAt      Timestamp  `json:"created_at"`
	DispatchedAt   *Timestamp `json:"dispatched_at"`
	DeliveredAt    *Timestamp `json:"delivered_at"`
}

// Step is what the carrier has to do next for a shipment.
type Step int

const (
	Wait             Step = iota // nothing due yet
	Dispatch                     // hand the parcel to the carrier (recorded)
	AnnounceDispatch             // publish the recorded dispatch
	Deliver                      // the parcel reached its buyer (recorded)
	AnnounceDelivery             // publish the recorded delivery
	Close                        // delivered and announced: only the index still names it
)

// NextStep is due at `now`. Each step is recorded first and announced after: a crash in
// between announces it at the next sweep. A step's instant is its due time, never `now`:
// a step taken late (after a crash, a slow sweep) records and announces the same instant.
func (s Shipment) NextStep(now time.Time) Step {
	switch s.Status {
	case StatusPreparing:
		if !now.Before(s.DispatchDueAt.Time) {
			return Dispatch
		}
	case StatusDispatched:
		if s.Announced != StatusDispatched {
			return AnnounceDispatch
		}
		if !now.Before(s.DeliveryDueAt.Time) {
			return Deliver
		}
	case StatusDelivered:
		switch s.Announced {
		case StatusDelivered:
			return Close
		case StatusDispatched:
			return AnnounceDelivery
		default: // consumers hear of the dispatch first
			return AnnounceDispatch
		}
	}
	return Wait
}

// AnnouncedAs is the record once the event of `status` is published.
func (s Shipment) AnnouncedAs(status string) Shipment {
	s.Announced = status
	return s
}

// Dispatched is the record once the carrier has the parcel.
func (s Shipment) Dispatched() Shipment {
	at := s.DispatchDueAt
	s.Status, s.DispatchedAt = StatusDispatched, &at
	return s
}

// Delivered is the record once the buyer has the parcel.
func (s Shipment) Delivered() Shipment {
	s = s.Dispatched() // its dispatch instant stays the one announced
	at := s.DeliveryDueAt
	s.Status, s.DeliveredAt = StatusDelivered, &at
	return s
}

// ShipmentDispatched is the data of `shipping.shipment-dispatched`.
type ShipmentDispatched struct {
	OrderID        string    `json:"order_id"`
	TrackingNumber string    `json:"tracking_number"`
	Carrier        string    `json:"carrier"`
	DispatchedAt   Timestamp `json:"dispatched_at"`
}

// ShipmentDelivered is the data of `shipping.shipment-delivered`.
type ShipmentDelivered struct {
	OrderID        string    `json:"order_id"`
	TrackingNumber string    `json:"tracking_number"`
	Carrier        string    `json:"carrier"`
	DeliveredAt    Timestamp `json:"delivered_at"`
}

// Announcement is one event to publish: where, under which CloudEvent type and id.
type Announcement struct {
	Topic, Type, ID string
	Data            any
}

const (
	DispatchedTopic = "shipping.shipment-dispatched"
	DispatchedType  = "shop.shipping.shipment-dispatched.v1"
	DeliveredTopic  = "shipping.shipment-delivered"
	DeliveredType   = "shop.shipping.shipment-delivered.v1"
)

// DispatchAnnouncement is published under `<order_id>.dispatched` however often it is
// published: consumers recognise a repeat by its id.
func (s Shipment) DispatchAnnouncement() Announcement {
	return Announcement{DispatchedTopic, DispatchedType, s.OrderID + ".dispatched", ShipmentDispatched{
		OrderID: s.OrderID, TrackingNumber: s.TrackingNumber, Carrier: s.Carrier, DispatchedAt: s.DispatchDueAt,
	}}
}

// DeliveryAnnouncement is published under `<order_id>.delivered`.
func (s Shipment) DeliveryAnnouncement() Announcement {
	return Announcement{DeliveredTopic, DeliveredType, s.OrderID + ".delivered", ShipmentDelivered{
		OrderID: s.OrderID, TrackingNumber: s.TrackingNumber, Carrier: s.Carrier, DeliveredAt: s.DeliveryDueAt,
	}}
}

// WithOpen is the open-shipments index naming id (unchanged, and false, if it did).
func WithOpen(index []string, id string) ([]string, bool) {
	if slices.Contains(index, id) {
		return index, false
	}
	return append(slices.Clone(index), id), true
}

// WithoutOpen is the index without id (unchanged, and false, if it was not there).
func WithoutOpen(index []string, id string) ([]string, bool) {
	if !slices.Contains(index, id) {
		return index, false
	}
	return slices.DeleteFunc(slices.Clone(index), func(open string) bool { return open == id }), true
}

// OrderStatusChanged is the data of `orders.order-status-changed`, the fields shipping
// reads (the schema is checked in full before this is decoded).
type OrderStatusChanged struct {
	OrderID    string `json:"order_id"`
	Status     string `json:"status"`
	TotalCents int64  `json:"total_cents"`
	Currency   string `json:"currency"`
}

// PaymentRecord is payments' answer to GET /payments/{order_id}
// (libs/shop_contracts/payments.py PaymentRecord), the fields shipping reads.
type PaymentRecord struct {
	OrderID     string `json:"order_id"`
	Status      string `json:"status"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
}

// Verdict is what shipping makes of a paid event once payments has answered.
type Verdict struct {
	Ship bool
	// Retry: the payment is not settled yet; ask again at the next delivery.
	Retry bool
	// Refused: the event claims a payment that did not happen (a forgery or a bug):
	// dropped to the dead-letter topic, with this reason counted.
	Refused string
	Why     string
}

// JudgePayment: only a succeeded charge of exactly the order's total, in its currency,
// ships an order. `record` nil means payments knows no charge for the order.
func JudgePayment(order OrderStatusChanged, record *PaymentRecord) Verdict {
	if record == nil {
		return Verdict{Refused: "payment_not_found", Why: "payments knows no charge for the order"}
	}
	switch record.Status {
	case "processing", "awaiting_confirmation":
		return Verdict{Retry: true, Why: "the charge is " + record.Status}
	case "succeeded":
		if record.OrderID != "" && record.OrderID != order.OrderID {
			return Verdict{Refused: "payment_mismatch", Why: fmt.Sprintf("payments answered for order %q", record.OrderID)}
		}
		if record.AmountCents != order.TotalCents || record.Currency != order.Currency {
			return Verdict{Refused: "payment_mismatch", Why: fmt.Sprintf(
				"payments charged %d cents %s for an order of %d cents %s",
				record.AmountCents, record.Currency, order.TotalCents, order.Currency)}
		}
		return Verdict{Ship: true}
	case "declined":
		return Verdict{Refused: "payment_declined", Why: "payments declined the charge"}
	}
	// A status this code does not know is a contract change, not a forgery: wait for a
	// shipping that knows it rather than dead-letter a paid order.
	return Verdict{Retry: true, Why: fmt.Sprintf("payments answered an unknown status %q", record.Status)}
}
