package main

// The sidecar's HTTP API, the only way shipping reaches anything: state, publish and
// service invocation, as plain HTTP to its own daprd (no Dapr SDK: the building blocks'
// HTTP API is the contract, whatever the app's language). Every call carries the
// sidecar's token, the current trace and a deadline.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Unavailable: the sidecar, a component behind it or a peer app failed or did not answer
// in time. Nothing the caller did wrong; worth trying again later (a delivery answers
// RETRY, a request 503).
type Unavailable struct {
	msg      string
	TimedOut bool // no answer within the call's deadline (readiness words it apart)
}

func (e *Unavailable) Error() string { return e.msg }

func unavailable(format string, args ...any) error {
	return &Unavailable{msg: fmt.Sprintf(format, args...)}
}

// ErrETagMismatch: the entry changed (or vanished) since its ETag was read. Re-read,
// apply the change to what is there now, and write again.
var ErrETagMismatch = errors.New("etag mismatch")

type Sidecar struct {
	base    string
	token   string
	timeout time.Duration
	store   string
	pubsub  string
	// Building blocks: the trace is injected by hand, without a client span.
	http *http.Client
	// Invocation: a client span per call, as the Python services' httpx client makes.
	invoker *http.Client
}

func NewSidecar(c Config) *Sidecar {
	transport := &http.Transport{
		Proxy:               nil, // never through a proxy: the sidecar is on loopback
		MaxIdleConns:        200,
		MaxIdleConnsPerHost: 200,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Sidecar{
		base:    c.SidecarURL(),
		token:   c.DaprAPIToken,
		timeout: c.CallTimeout,
		store:   c.StateStore,
		pubsub:  c.PubSub,
		http:    &http.Client{Transport: transport},
		invoker: &http.Client{Transport: otelhttp.NewTransport(transport)},
	}
}

// answer is the sidecar's reply, whatever its status.
type answer struct {
	status int
	body   []byte
	header http.Header
}

// reason is Dapr's own words for a failure (`errorCode: message`), else the status.
func (a answer) reason() string {
	var failure struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(a.body, &failure) == nil && failure.ErrorCode != "" {
		return failure.ErrorCode + ": " + failure.Message
	}
	return fmt.Sprintf("HTTP %d", a.status)
}

// isETagError: Dapr answers an ETag conflict with 409, and an ETag it cannot parse (one
// from another store type) with 400 naming the ETag; to a caller both mean stale.
func (a answer) isETagError() bool {
	return a.status == http.StatusConflict ||
		(a.status == http.StatusBadRequest && strings.Contains(strings.ToLower(string(a.body)), "etag"))
}

type call struct {
	method, path string
	body         []byte
	header       http.Header
	timeout      time.Duration // 0: the sidecar's call timeout
	invocation   bool
	untraced     bool // probes: an unsampled traceparent instead of the current trace
}

// do sends one call; an error is always *Unavailable (no answer in time, or none at all).
func (s *Sidecar) do(ctx context.Context, c call) (answer, error) {
	timeout := c.timeout
	if timeout == 0 {
		timeout = s.timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	request, err := http.NewRequestWithContext(ctx, c.method, s.base+c.path, body)
	if err != nil {
		return answer{}, unavailable("%s %s: %v", c.method, c.path, err)
	}
	for name, values := range c.header {
		request.Header[name] = values
	}
	request.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		request.Header.Set("dapr-api-token", s.token)
	}
	client := s.http
	switch {
	case c.untraced:
		request.Header.Set("traceparent", unsampledTraceparent())
	case c.invocation:
		client = s.invoker // its transport injects the trace of its own client span
	default:
		injectTrace(ctx, request.Header)
	}
	response, err := client.Do(request)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return answer{}, &Unavailable{fmt.Sprintf("the sidecar did not answer %s %s within %s", c.method, c.path, timeout), true}
		}
		return answer{}, unavailable("the sidecar did not answer %s %s: %v", c.method, c.path, err)
	}
	defer response.Body.Close()
	content, err := io.ReadAll(io.LimitReader(response.Body, 16<<20))
	if err != nil {
		return answer{}, unavailable("the sidecar's answer to %s %s broke off: %v", c.method, c.path, err)
	}
	return answer{response.StatusCode, content, response.Header}, nil
}

func (s *Sidecar) statePath(key string) string {
	path := "/v1.0/state/" + url.PathEscape(s.store)
	if key != "" {
		path += "/" + url.PathEscape(key)
	}
	return path
}

// StateEntry is a stored value (JSON) and the ETag it was read with.
type StateEntry struct {
	Value []byte
	ETag  string
}

// GetState is the entry at key, nil when there is none.
func (s *Sidecar) GetState(ctx context.Context, key string) (*StateEntry, error) {
	a, err := s.do(ctx, call{method: http.MethodGet, path: s.statePath(key)})
	if err != nil {
		return nil, err
	}
	switch a.status {
	case http.StatusNoContent:
		return nil, nil
	case http.StatusOK:
		return &StateEntry{a.body, a.header.Get("ETag")}, nil
	}
	return nil, unavailable("reading %q: %s", key, a.reason())
}

// GetStates reads the entries that exist among keys, by key, in one round trip.
func (s *Sidecar) GetStates(ctx context.Context, keys []string) (map[string]StateEntry, error) {
	found := map[string]StateEntry{}
	if len(keys) == 0 {
		return found, nil
	}
	body, _ := json.Marshal(map[string]any{"keys": keys, "parallelism": 16})
	a, err := s.do(ctx, call{method: http.MethodPost, path: s.statePath("bulk"), body: body})
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, unavailable("reading %d keys: %s", len(keys), a.reason())
	}
	var items []struct {
		Key   string          `json:"key"`
		Data  json.RawMessage `json:"data"`
		ETag  string          `json:"etag"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(a.body, &items); err != nil {
		return nil, unavailable("reading %d keys: an answer that is not a list: %v", len(keys), err)
	}
	for _, item := range items {
		// The bulk API hands each value back parsed (still JSON here); a missing key is
		// an item without data, a failed one an item with an error.
		if item.Error != "" || len(item.Data) == 0 || string(item.Data) == "null" {
			continue
		}
		found[item.Key] = StateEntry{item.Data, item.ETag}
	}
	return found, nil
}

// SaveState writes value over the version etag names, with first-write concurrency:
// a record written first-write refuses a later write without its ETag
// (docs/dapr-traps.md), so every write of the service carries both. A lost race is
// ErrETagMismatch.
func (s *Sidecar) SaveState(ctx context.Context, key string, value []byte, etag string) error {
	a, err := s.write(ctx, key, value, &etag)
	if err != nil {
		return err
	}
	if a.status == http.StatusNoContent {
		return nil
	}
	if a.isETagError() {
		return ErrETagMismatch
	}
	return unavailable("saving %q: %s", key, a.reason())
}

// CreateState writes value only if key is absent: first-write without an ETag. False
// when the key exists. Stores word the refusal differently (and not as an ETag error),
// so a failed write is judged by a re-read (docs/dapr-traps.md).
func (s *Sidecar) CreateState(ctx context.Context, key string, value []byte) (bool, error) {
	a, err := s.write(ctx, key, value, nil)
	if err != nil {
		return false, err
	}
	if a.status == http.StatusNoContent {
		return true, nil
	}
	existing, err := s.GetState(ctx, key)
	if err != nil {
		return false, err
	}
	if existing != nil {
		return false, nil
	}
	return false, unavailable("creating %q: %s", key, a.reason())
}

func (s *Sidecar) write(ctx context.Context, key string, value []byte, etag *string) (answer, error) {
	item := map[string]any{
		"key":     key,
		"value":   json.RawMessage(value),
		"options": map[string]string{"concurrency": "first-write"},
	}
	if etag != nil {
		item["etag"] = *etag
	}
	body, err := json.Marshal([]any{item})
	if err != nil {
		return answer{}, fmt.Errorf("saving %q: the value is not JSON: %w", key, err)
	}
	return s.do(ctx, call{method: http.MethodPost, path: s.statePath(""), body: body})
}

// Publish sends data (JSON) to topic as the data of a CloudEvent whose type and id the
// sidecar takes from the metadata: the same fact published again under the same id is
// recognised as a repeat by consumers. The sidecar continues ctx's trace into the event.
func (s *Sidecar) Publish(ctx context.Context, topic, eventType, eventID string, data []byte) error {
	query := url.Values{}
	query.Set("metadata.cloudevent.type", eventType)
	if eventID != "" {
		query.Set("metadata.cloudevent.id", eventID)
	}
	path := "/v1.0/publish/" + url.PathEscape(s.pubsub) + "/" + url.PathEscape(topic) + "?" + query.Encode()
	a, err := s.do(ctx, call{method: http.MethodPost, path: path, body: data})
	if err != nil {
		return err
	}
	if a.status != http.StatusNoContent {
		return unavailable("publishing to %q: %s", topic, a.reason())
	}
	return nil
}

// Invoke calls appID's method through the sidecar. The app's answer is returned whatever
// its status below 500; no answer, or a 5xx, is *Unavailable.
func (s *Sidecar) Invoke(ctx context.Context, appID, method, path string) (int, []byte, error) {
	full := "/v1.0/invoke/" + url.PathEscape(appID) + "/method/" + strings.TrimPrefix(path, "/")
	a, err := s.do(ctx, call{method: method, path: full, invocation: true})
	if err != nil {
		return 0, nil, err
	}
	if a.status >= 500 {
		return 0, nil, unavailable("%s failed (%d): %s", appID, a.status, a.reason())
	}
	return a.status, a.body, nil
}

// Outbound answers nil once the sidecar has loaded its components and can serve the
// app's calls (it need not see the app for this).
func (s *Sidecar) Outbound(ctx context.Context, timeout time.Duration) error {
	a, err := s.do(ctx, call{method: http.MethodGet, path: "/v1.0/healthz/outbound", timeout: timeout, untraced: true})
	if err != nil {
		return err
	}
	if a.status != http.StatusNoContent {
		return unavailable("HTTP %d", a.status)
	}
	return nil
}

// WaitForSidecar returns once the sidecar answers, or an error that names the fix when
// it has not within `within`.
func (s *Sidecar) WaitForSidecar(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	last := "no answer yet"
	for time.Now().Before(deadline) {
		err := s.Outbound(ctx, 2*time.Second)
		if err == nil {
			return nil
		}
		last = err.Error()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the Dapr sidecar at %s was not ready within %s (%s): start the app with "+
		"`dapr run` or `make run`, and check daprd's log", s.base, within, last)
}
