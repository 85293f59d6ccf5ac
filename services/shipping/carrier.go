package main

// The simulated carrier: a sweep every SHIPPING_SWEEP_INTERVAL_SECONDS over the
// open-shipments index, which survives restarts (the state store holds it, not memory).
// For each shipment whose next step is due it records the step, then publishes it, then
// records that it did (Shipment.Announced): what shipping answers is never behind an
// event a consumer checks against it (orders asks GET /shipments before it applies
// one), and a crash before the publish or before its mark republishes the same event,
// under the same CloudEvent id and with the same data, to idempotent consumers. The
// shipment leaves the open index only once its delivery is announced. One failing
// shipment is logged and tried again next sweep; the others go on.

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Shipments read per bulk call of a sweep.
const sweepBatch = 100

type Carrier struct {
	shipments *Shipments
	sidecar   *Sidecar
	contracts *Contracts
	metrics   *Metrics
	log       *slog.Logger
	interval  time.Duration
	now       func() time.Time
}

// Run sweeps until ctx ends.
func (c *Carrier) Run(ctx context.Context) {
	c.log.Info("carrier sweeping open shipments every " + c.interval.String())
	ticker := time.NewTicker(c.interval)
	defer ticker.Stop()
	for {
		c.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Sweep takes every due step once; it reports how many shipments failed (tests).
func (c *Carrier) Sweep(ctx context.Context) (failed int) {
	ids, err := c.shipments.OpenIDs(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "carrier: the open-shipments index is unreadable, trying again next sweep", slog.Any(excKey, err))
		return 1
	}
	c.metrics.OpenShipments.Set(float64(len(ids)))
	for start := 0; start < len(ids); start += sweepBatch {
		batch := ids[start:min(start+sweepBatch, len(ids))]
		records, err := c.shipments.GetMany(ctx, batch)
		if err != nil {
			c.log.WarnContext(ctx, "carrier: open shipments unreadable, trying again next sweep", slog.Any(excKey, err))
			return failed + len(ids) - start
		}
		for _, id := range batch {
			if ctx.Err() != nil {
				return failed
			}
			found, ok := records[id]
			var err error
			if !ok {
				// Never written (the record is created before it is listed): an index
				// entry of a lost record. Nothing can be shipped without it.
				c.log.WarnContext(ctx, "carrier: order "+id+" is listed open but has no shipment; unlisting it", "order_id", id)
				err = c.shipments.Close(ctx, id)
			} else {
				err = c.advance(ctx, found)
			}
			if err != nil {
				failed++
				c.log.WarnContext(ctx, "carrier: shipment of order "+id+" not advanced, trying again next sweep",
					"order_id", id, slog.Any(excKey, err))
			}
		}
	}
	return failed
}

// advance takes every step of one shipment that is due now.
func (c *Carrier) advance(ctx context.Context, current Versioned) error {
	for {
		shipment := current.Shipment
		var next Shipment
		switch shipment.NextStep(c.now()) {
		case Wait:
			return nil
		case Close:
			return c.shipments.Close(ctx, shipment.OrderID)
		case Dispatch:
			next = shipment.Dispatched()
		case Deliver:
			next = shipment.Delivered()
		case AnnounceDispatch:
			if err := c.publish(ctx, shipment, shipment.DispatchAnnouncement()); err != nil {
				return err
			}
			next = shipment.AnnouncedAs(StatusDispatched)
		case AnnounceDelivery:
			if err := c.publish(ctx, shipment, shipment.DeliveryAnnouncement()); err != nil {
				return err
			}
			next = shipment.AnnouncedAs(StatusDelivered)
		}
		err := c.shipments.Replace(ctx, next, current.ETag)
		if errors.Is(err, ErrETagMismatch) {
			// Another sweeper took the step (any event it published has the same id):
			// read it again next sweep.
			return nil
		}
		if err != nil {
			return err
		}
		if next.Status != shipment.Status {
			c.log.InfoContext(contextWithTraceparent(ctx, shipment.Traceparent),
				"shipment "+shipment.TrackingNumber+" of order "+shipment.OrderID+" "+next.Status, "order_id", shipment.OrderID)
		}
		reread, err := c.shipments.Get(ctx, shipment.OrderID)
		if err != nil || reread == nil {
			return err
		}
		current = *reread
	}
}

// publish sends one announcement inside the trace of the paid event's delivery: the
// sidecar continues it into the CloudEvent, so the checkout's trace shows its parcel.
func (c *Carrier) publish(ctx context.Context, shipment Shipment, a Announcement) error {
	ctx, span := tracer().Start(contextWithTraceparent(ctx, shipment.Traceparent), "publish "+a.Topic,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.destination.name", a.Topic),
			attribute.String("messaging.message.id", a.ID)))
	defer span.End()
	data, err := c.contracts.Payload(a.Topic, a.Data)
	if err != nil {
		// A bug in this service: never send consumers what they were not promised.
		c.metrics.PublishesInvalid.WithLabelValues(a.Topic).Inc()
		c.log.ErrorContext(ctx, "refusing to publish "+a.ID+" to "+a.Topic, "order_id", shipment.OrderID, slog.Any(excKey, err))
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	if err := c.sidecar.Publish(ctx, a.Topic, a.Type, a.ID, data); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	c.metrics.EventsPublished.WithLabelValues(a.Topic).Inc()
	return nil
}
