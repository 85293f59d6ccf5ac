package main

// The use case of a paid order: check the payment with payments, create the shipment
// once, list it as open. Both writes happen before the delivery is acknowledged, and
// both are idempotent, so a crash between them is repaired by the redelivery.

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

type Service struct {
	shipments     *Shipments
	sidecar       *Sidecar
	metrics       *Metrics
	log           *slog.Logger
	paymentsAppID string
	dispatchDelay time.Duration
	deliveryDelay time.Duration
	now           func() time.Time
}

// Outcome of a paid event.
type Outcome struct {
	Reply   Reply  // SUCCESS, RETRY or DROP
	Refused string // with DROP: why the event was refused (a metric label)
}

// ShipPaidOrder ships order, whose paid event arrived in ctx's trace. An error is an
// outage (the sidecar, the store, payments): the delivery is asked for again.
func (s *Service) ShipPaidOrder(ctx context.Context, order OrderStatusChanged) (Outcome, error) {
	existing, err := s.shipments.Get(ctx, order.OrderID)
	if err != nil {
		return Outcome{}, err
	}
	var shipment Shipment
	if existing != nil {
		shipment = existing.Shipment
	} else {
		// The payment was checked when the record was created: a redelivery skips it,
		// and so does not depend on payments being up.
		verdict, err := s.checkPayment(ctx, order)
		if err != nil {
			return Outcome{}, err
		}
		switch {
		case verdict.Refused != "":
			s.log.WarnContext(ctx, "not shipping order "+order.OrderID+": "+verdict.Why+
				"; the event is dropped to its dead-letter topic", "reason", verdict.Refused)
			return Outcome{Reply: Drop, Refused: verdict.Refused}, nil
		case verdict.Retry:
			s.log.InfoContext(ctx, "order "+order.OrderID+" not shipped yet: "+verdict.Why+"; asking for redelivery")
			return Outcome{Reply: Retry}, nil
		}
		fresh := NewShipment(order.OrderID, s.now(), s.dispatchDelay, s.deliveryDelay, traceparentOf(ctx))
		stored, created, err := s.shipments.Create(ctx, fresh)
		if err != nil {
			return Outcome{}, err
		}
		if created {
			s.metrics.ShipmentsCreated.Inc()
			s.log.InfoContext(ctx, "shipment "+stored.TrackingNumber+" created for order "+order.OrderID)
		}
		shipment = stored
	}
	if shipment.Status != StatusDelivered {
		if err := s.shipments.Open(ctx, order.OrderID); err != nil {
			return Outcome{}, err
		}
	}
	return Outcome{Reply: Success}, nil
}

// checkPayment asks payments what became of the order's charge: never ship for a
// payment that did not happen, whatever an event says.
func (s *Service) checkPayment(ctx context.Context, order OrderStatusChanged) (Verdict, error) {
	status, body, err := s.sidecar.Invoke(ctx, s.paymentsAppID, http.MethodGet, "/payments/"+url.PathEscape(order.OrderID))
	if err != nil {
		return Verdict{}, err
	}
	switch status {
	case http.StatusOK:
		var record PaymentRecord
		if err := json.Unmarshal(body, &record); err != nil {
			return Verdict{}, unavailable("%s answered with an unusable body: %v", s.paymentsAppID, err)
		}
		return JudgePayment(order, &record), nil
	case http.StatusNotFound:
		return JudgePayment(order, nil), nil
	}
	// A refusal by the sidecar (403 from access control, 401 a token) is a deployment
	// fault, not the event's: kept for redelivery, and loud in the log.
	return Verdict{}, unavailable("%s answered %d: %s", s.paymentsAppID, status, truncate(string(body), 200))
}

func truncate(text string, limit int) string {
	if len(text) > limit {
		return text[:limit]
	}
	return text
}
