package main

// An in-process daprd for the unit tests: the HTTP API shipping calls (state with ETags
// and first-write, bulk get, publish, invocation of payments, the outbound health),
// served by httptest, with the real runtime's rules where shipping depends on them
// (docs/dapr-traps.md) and switches to make each call fail. The service under test is
// the real one, over real HTTP; only the sidecar is fake.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type fakeEntry struct {
	value      []byte
	etag       int
	firstWrite bool // written with first-write: a later write needs its ETag
}

type fakePublish struct {
	Topic, Type, ID, Traceparent string
	Data                         []byte
}

type fakePayment struct {
	status int
	body   string
}

type fakeSidecar struct {
	t      *testing.T
	server *httptest.Server
	token  string // the DAPR_API_TOKEN it requires ("" none)

	mu            sync.Mutex
	state         map[string]*fakeEntry
	nextETag      int
	published     []fakePublish
	payments      map[string]fakePayment
	paymentsAsked int
	operations    []string // "publish <id>", "save <key>", in the order they happened
	requests      []string // "<method> <uri> <traceparent flags>" of every call

	// Failure switches.
	refuseSave map[string]int // key -> how many more writes answer 500
	// key -> how many more writes succeed before one answers 500 (once)
	refuseSaveAfter map[string]int
	refusePublish   map[string]bool // CloudEvent id -> publishes answer 500
	outbound        int             // /v1.0/healthz/outbound status (204)
	storeDown       bool            // every state call answers 500
	brokerDown      bool            // every publish answers 500
}

func newFakeSidecar(t *testing.T) *fakeSidecar {
	f := &fakeSidecar{
		t: t, state: map[string]*fakeEntry{}, payments: map[string]fakePayment{},
		refuseSave: map[string]int{}, refuseSaveAfter: map[string]int{}, refusePublish: map[string]bool{}, outbound: http.StatusNoContent,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/healthz/outbound", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.WriteHeader(f.outbound)
	})
	mux.HandleFunc("GET /v1.0/state/statestore/{key}", f.getState)
	mux.HandleFunc("POST /v1.0/state/statestore", f.saveState)
	mux.HandleFunc("POST /v1.0/state/statestore/bulk", f.bulkGet)
	mux.HandleFunc("POST /v1.0/publish/pubsub/{topic}", f.publish)
	mux.HandleFunc("GET /v1.0/invoke/payments/method/payments/{order_id}", f.payment)
	f.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		flags := r.Header.Get("traceparent")
		if len(flags) == 55 {
			flags = flags[53:]
		}
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI()+" "+flags)
		f.mu.Unlock()
		if f.token != "" && r.Header.Get("dapr-api-token") != f.token {
			daprError(w, http.StatusUnauthorized, "ERR_UNAUTHORIZED", "bad token")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeSidecar) port() string {
	return f.server.URL[strings.LastIndex(f.server.URL, ":")+1:]
}

func daprError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorCode": code, "message": message})
}

func (f *fakeSidecar) getState(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.storeDown {
		daprError(w, 500, "ERR_STATE_GET", "connection refused")
		return
	}
	entry, ok := f.state[r.PathValue("key")]
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("ETag", strconv.Itoa(entry.etag))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(entry.value)
}

func (f *fakeSidecar) bulkGet(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.storeDown {
		daprError(w, 500, "ERR_STATE_BULK_GET", "connection refused")
		return
	}
	var request struct{ Keys []string }
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
		daprError(w, 400, "ERR_MALFORMED_REQUEST", err.Error())
		return
	}
	items := []map[string]any{}
	for _, key := range request.Keys {
		item := map[string]any{"key": key}
		if entry, ok := f.state[key]; ok {
			item["data"] = json.RawMessage(entry.value) // handed back parsed, as daprd does
			item["etag"] = strconv.Itoa(entry.etag)
		}
		items = append(items, item)
	}
	_ = json.NewEncoder(w).Encode(items)
}

func (f *fakeSidecar) saveState(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.storeDown {
		daprError(w, 500, "ERR_STATE_SAVE", "connection refused")
		return
	}
	var items []struct {
		Key     string          `json:"key"`
		Value   json.RawMessage `json:"value"`
		ETag    *string         `json:"etag"`
		Options struct {
			Concurrency string `json:"concurrency"`
		} `json:"options"`
	}
	if err := json.NewDecoder(r.Body).Decode(&items); err != nil {
		daprError(w, 400, "ERR_MALFORMED_REQUEST", err.Error())
		return
	}
	for _, item := range items {
		if f.refuseSave[item.Key] > 0 {
			f.refuseSave[item.Key]--
			daprError(w, 500, "ERR_STATE_SAVE", "the store is down")
			return
		}
		if left, ok := f.refuseSaveAfter[item.Key]; ok {
			if left == 0 {
				delete(f.refuseSaveAfter, item.Key)
				daprError(w, 500, "ERR_STATE_SAVE", "the store is down")
				return
			}
			f.refuseSaveAfter[item.Key] = left - 1
		}
		existing, exists := f.state[item.Key]
		firstWrite := item.Options.Concurrency == "first-write"
		switch {
		case item.ETag != nil && (!exists || *item.ETag != strconv.Itoa(existing.etag)):
			daprError(w, 409, "ERR_STATE_SAVE", "failed saving state in state store statestore: possible etag mismatch. error from state store: ERR Error running script")
			return
		case item.ETag == nil && firstWrite && exists:
			// Create-only refused; worded unlike an ETag error, as Redis words it.
			daprError(w, 500, "ERR_STATE_SAVE", "failed saving state in state store statestore: ERR user_script:14: failed to set key")
			return
		case item.ETag == nil && exists && existing.firstWrite:
			// A record written first-write refuses a later write without its ETag.
			daprError(w, 500, "ERR_STATE_SAVE", "failed saving state in state store statestore: ERR user_script:14: failed to set key")
			return
		}
		if !json.Valid(item.Value) {
			daprError(w, 400, "ERR_MALFORMED_REQUEST", "value is not JSON")
			return
		}
		f.nextETag++
		f.state[item.Key] = &fakeEntry{value: append([]byte(nil), item.Value...), etag: f.nextETag, firstWrite: firstWrite}
		f.operations = append(f.operations, "save "+item.Key)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeSidecar) publish(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	query := r.URL.Query()
	id := query.Get("metadata.cloudevent.id")
	if f.brokerDown || f.refusePublish[id] {
		daprError(w, 500, "ERR_PUBSUB_PUBLISH_MESSAGE", "the broker is down")
		return
	}
	if r.PathValue("topic") == readinessTopic {
		w.WriteHeader(http.StatusNoContent) // the probe: not an event worth recording
		return
	}
	f.published = append(f.published, fakePublish{
		Topic: r.PathValue("topic"), Type: query.Get("metadata.cloudevent.type"), ID: id,
		Traceparent: r.Header.Get("traceparent"), Data: data,
	})
	f.operations = append(f.operations, "publish "+id)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeSidecar) payment(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paymentsAsked++
	answer, ok := f.payments[r.PathValue("order_id")]
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"detail":"no payment for order '%s'"}`, r.PathValue("order_id"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(answer.status)
	_, _ = io.WriteString(w, answer.body)
}

// paid records what payments answers for an order: a charge of amount in currency.
func (f *fakeSidecar) paid(orderID, status string, amount int64, currency string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.payments[orderID] = fakePayment{http.StatusOK, fmt.Sprintf(
		`{"order_id":%q,"status":%q,"currency":%q,"amount_cents":%d,"payment_id":"pay_1"}`,
		orderID, status, currency, amount)}
}

// answerPayment makes payments answer status and body for an order.
func (f *fakeSidecar) answerPayment(orderID string, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.payments[orderID] = fakePayment{status, body}
}

func (f *fakeSidecar) asked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paymentsAsked
}

func (f *fakeSidecar) entry(key string) *fakeEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state[key]
}

func (f *fakeSidecar) put(key string, value []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextETag++
	f.state[key] = &fakeEntry{value: value, etag: f.nextETag, firstWrite: true}
}

func (f *fakeSidecar) publishes() []fakePublish {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakePublish(nil), f.published...)
}

func (f *fakeSidecar) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeSidecar) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.operations...)
}

func (f *fakeSidecar) set(change func(f *fakeSidecar)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}
