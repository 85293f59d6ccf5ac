package main

// Where shipments live in the state store: one record a shipment
// (`shipment-<order_id>`, created once, then changed only over its ETag) and one index
// of the open ones (`open-shipments`), because the state API can neither list nor query
// keys and the carrier must find every open shipment again after a restart. daprd
// prefixes every key with the app id, so no other app reads them.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

const openShipmentsKey = "open-shipments"

func shipmentKey(orderID string) string { return "shipment-" + orderID }

// How often a read-modify-write of the index may lose its race before it gives up. Each
// lost race means another writer got through, so this bounds waiting, not progress
// (libs/shop_dapr/repository.py UPDATE_ATTEMPTS).
const indexAttempts = 25

type Shipments struct {
	sidecar *Sidecar
	index   indexQueue
}

// indexQueue makes one writer of the index per process: the changes asked for while a
// write is in flight are applied together by the next one. Every paid delivery and the
// carrier change the one key; each racing the others for its ETag, a burst of
// deliveries (a backlog after an outage) exhausted its retries and answered RETRY over
// and over (seen against a real daprd). Between processes the ETag still decides.
type indexQueue struct {
	mu      sync.Mutex
	pending []indexChange
	writing bool
}

type indexChange struct {
	ctx     context.Context // its trace is the write's when it leads the batch
	orderID string
	open    bool
	done    chan error
}

// Versioned is a shipment and the ETag it was read with.
type Versioned struct {
	Shipment Shipment
	ETag     string
}

// Get is the order's shipment, nil when there is none.
func (s *Shipments) Get(ctx context.Context, orderID string) (*Versioned, error) {
	entry, err := s.sidecar.GetState(ctx, shipmentKey(orderID))
	if err != nil || entry == nil {
		return nil, err
	}
	return decodeShipment(orderID, *entry)
}

// GetMany reads the shipments of orderIDs that exist, in one round trip.
func (s *Shipments) GetMany(ctx context.Context, orderIDs []string) (map[string]Versioned, error) {
	keys := make([]string, len(orderIDs))
	for i, id := range orderIDs {
		keys[i] = shipmentKey(id)
	}
	entries, err := s.sidecar.GetStates(ctx, keys)
	if err != nil {
		return nil, err
	}
	found := map[string]Versioned{}
	for _, id := range orderIDs {
		if entry, ok := entries[shipmentKey(id)]; ok {
			shipment, err := decodeShipment(id, entry)
			if err != nil {
				return nil, err
			}
			found[id] = *shipment
		}
	}
	return found, nil
}

func decodeShipment(orderID string, entry StateEntry) (*Versioned, error) {
	var shipment Shipment
	if err := json.Unmarshal(entry.Value, &shipment); err != nil {
		return nil, fmt.Errorf("the stored shipment of %q is unreadable: %w", orderID, err)
	}
	return &Versioned{shipment, entry.ETag}, nil
}

// Create stores a new shipment unless the order has one, and answers the stored one: the
// new one, or the one a redelivery or a concurrent delivery wrote first. The caller
// has just read the key and found nothing: a read first matters, since the sidecar
// retries a refused create-only write for seconds before it reports the refusal
// (libs/shop_dapr/repository.py).
func (s *Shipments) Create(ctx context.Context, shipment Shipment) (Shipment, bool, error) {
	value, err := json.Marshal(shipment)
	if err != nil {
		return Shipment{}, false, err
	}
	created, err := s.sidecar.CreateState(ctx, shipmentKey(shipment.OrderID), value)
	if err != nil || created {
		return shipment, created, err
	}
	found, err := s.Get(ctx, shipment.OrderID)
	if err != nil {
		return Shipment{}, false, err
	}
	if found == nil {
		return Shipment{}, false, unavailable("the shipment of %q vanished right after its write", shipment.OrderID)
	}
	return found.Shipment, false, nil
}

// Replace writes shipment over the version etag names; ErrETagMismatch when someone else
// wrote it since.
func (s *Shipments) Replace(ctx context.Context, shipment Shipment, etag string) error {
	value, err := json.Marshal(shipment)
	if err != nil {
		return err
	}
	return s.sidecar.SaveState(ctx, shipmentKey(shipment.OrderID), value, etag)
}

// OpenIDs are the order ids the index names, oldest first.
func (s *Shipments) OpenIDs(ctx context.Context) ([]string, error) {
	ids, _, err := s.readIndex(ctx)
	return ids, err
}

// Open makes sure the index names orderID.
func (s *Shipments) Open(ctx context.Context, orderID string) error {
	return s.changeIndex(ctx, orderID, true)
}

// Close takes orderID out of the index.
func (s *Shipments) Close(ctx context.Context, orderID string) error {
	return s.changeIndex(ctx, orderID, false)
}

// changeIndex queues one change and waits until a write has applied it.
func (s *Shipments) changeIndex(ctx context.Context, orderID string, open bool) error {
	change := indexChange{context.WithoutCancel(ctx), orderID, open, make(chan error, 1)}
	s.index.mu.Lock()
	s.index.pending = append(s.index.pending, change)
	lead := !s.index.writing
	s.index.writing = true
	s.index.mu.Unlock()
	if lead {
		go s.writeIndex()
	}
	select {
	case err := <-change.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // the change may still be applied: each one is idempotent
	}
}

// writeIndex applies the queued changes, a batch a write, until none is left.
func (s *Shipments) writeIndex() {
	for {
		s.index.mu.Lock()
		batch := s.index.pending
		s.index.pending = nil
		if len(batch) == 0 {
			s.index.writing = false
			s.index.mu.Unlock()
			return
		}
		s.index.mu.Unlock()
		err := s.updateIndex(batch[0].ctx, func(ids []string) ([]string, bool) {
			changed := false
			for _, c := range batch {
				var one bool
				if c.open {
					ids, one = WithOpen(ids, c.orderID)
				} else {
					ids, one = WithoutOpen(ids, c.orderID)
				}
				changed = changed || one
			}
			return ids, changed
		})
		for _, c := range batch {
			c.done <- err
		}
	}
}

func (s *Shipments) readIndex(ctx context.Context) ([]string, *StateEntry, error) {
	entry, err := s.sidecar.GetState(ctx, openShipmentsKey)
	if err != nil || entry == nil {
		return nil, nil, err
	}
	var ids []string
	if err := json.Unmarshal(entry.Value, &ids); err != nil {
		return nil, nil, fmt.Errorf("the open-shipments index is unreadable: %w", err)
	}
	return ids, entry, nil
}

// updateIndex is the index's one read-modify-write: read, change, write only over the
// version read (create-only when there was none), and on a lost race read again and
// apply the change to what is there now, after a short jittered pause. Concurrent
// deliveries of different orders all get in.
func (s *Shipments) updateIndex(ctx context.Context, change func([]string) ([]string, bool)) error {
	for attempt := range indexAttempts {
		ids, entry, err := s.readIndex(ctx)
		if err != nil {
			return err
		}
		next, changed := change(ids)
		if !changed {
			return nil
		}
		value, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if entry == nil {
			created, err := s.sidecar.CreateState(ctx, openShipmentsKey, value)
			if err != nil {
				return err
			}
			if created {
				return nil
			}
		} else {
			err := s.sidecar.SaveState(ctx, openShipmentsKey, value, entry.ETag)
			if err == nil {
				return nil
			}
			if !errors.Is(err, ErrETagMismatch) {
				return err
			}
		}
		pause := time.Duration(rand.Float64() * float64(5*time.Millisecond*time.Duration(attempt+1)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return unavailable("%s: %d concurrent-write retries exhausted", openShipmentsKey, indexAttempts)
}
