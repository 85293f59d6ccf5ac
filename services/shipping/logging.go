package main

// One JSON object a line, with the keys and order of the Python services' lines
// (libs/shop_dapr/logs.py): time, level, service, logger, message, trace_id, span_id,
// then the fields bound to the request (order_id) and the line's own, exc last. The
// same trace_id as Zipkin's, so a line leads to its trace and back; the same keys, so
// one query reads every service's logs.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"go.opentelemetry.io/otel/trace"
)

// Attribute keys the handler places itself: the logger's name among the fixed fields,
// an error's text last.
const (
	loggerKey = "logger"
	excKey    = "exc"
)

// Python's isoformat(timespec="milliseconds") of a UTC datetime.
const logTimeLayout = "2006-01-02T15:04:05.000-07:00"

// NewLogger writes `service`'s lines to out; Named gives each part its logger name.
func NewLogger(out io.Writer, service string, level slog.Level) *slog.Logger {
	return slog.New(&lineHandler{out: out, mu: &sync.Mutex{}, service: service, level: level, logger: "shipping"})
}

// Named is l under a logger name, as `logging.getLogger(name)` is in Python.
func Named(l *slog.Logger, name string) *slog.Logger { return l.With(loggerKey, name) }

type lineHandler struct {
	out     io.Writer
	mu      *sync.Mutex // one line at a time, never interleaved
	service string
	logger  string
	level   slog.Level
	attrs   []slog.Attr // bound by With
}

func (h *lineHandler) Enabled(_ context.Context, level slog.Level) bool { return level >= h.level }

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	next := *h
	next.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		if a.Key == loggerKey {
			next.logger = a.Value.String()
			continue
		}
		next.attrs = append(next.attrs, a)
	}
	return &next
}

// WithGroup is not used by the service: a group's fields are written flat.
func (h *lineHandler) WithGroup(string) slog.Handler { return h }

func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	line := &jsonLine{}
	line.field("time", r.Time.UTC().Format(logTimeLayout))
	line.field("level", levelName(r.Level))
	line.field("service", h.service)
	line.field("logger", h.logger)
	line.field("message", r.Message)
	if span := trace.SpanContextFromContext(ctx); span.IsValid() {
		line.field("trace_id", span.TraceID().String())
		line.field("span_id", span.SpanID().String())
	}
	var exc *slog.Attr
	write := func(a slog.Attr) bool {
		a.Value = a.Value.Resolve()
		switch {
		case a.Key == excKey:
			exc = &a
		case a.Key == loggerKey || a.Equal(slog.Attr{}):
		default:
			line.field(a.Key, attrValue(a.Value))
		}
		return true
	}
	for _, a := range boundFields(ctx) {
		write(a)
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	if exc != nil {
		line.field(excKey, attrValue(exc.Value))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.out.Write(line.close())
	return err
}

// Python's level names, as structlog writes them.
func levelName(level slog.Level) string {
	switch {
	case level >= slog.LevelError:
		return "error"
	case level >= slog.LevelWarn:
		return "warning"
	case level >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

func attrValue(v slog.Value) any {
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().UTC().Format(logTimeLayout)
	case slog.KindDuration:
		return v.Duration().Seconds()
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
		if s, ok := v.Any().(fmt.Stringer); ok {
			return s.String()
		}
	case slog.KindGroup:
		group := map[string]any{}
		for _, a := range v.Group() {
			group[a.Key] = attrValue(a.Value.Resolve())
		}
		return group
	}
	return v.Any()
}

// jsonLine writes an object's fields in the order given (a map would sort them).
type jsonLine struct {
	buf  bytes.Buffer
	keys map[string]bool
}

func (l *jsonLine) field(key string, value any) {
	if l.keys == nil {
		l.keys = map[string]bool{}
		l.buf.WriteByte('{')
	}
	if l.keys[key] {
		return // the first value of a key wins, as the fixed fields come first
	}
	l.keys[key] = true
	encoded, err := json.Marshal(value)
	if err != nil {
		encoded, _ = json.Marshal(fmt.Sprint(value))
	}
	if len(l.keys) > 1 {
		l.buf.WriteByte(',')
	}
	name, _ := json.Marshal(key)
	l.buf.Write(name)
	l.buf.WriteByte(':')
	l.buf.Write(encoded)
}

func (l *jsonLine) close() []byte {
	l.buf.WriteString("}\n")
	return l.buf.Bytes()
}

// Fields bound to a request (bindLog): every later line logged in its context carries
// them, the access line too, as bind_log_context does for the Python services.
type logFields struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

type logFieldsKey struct{}

// withLogFields gives ctx a place for bindLog's fields (the measuring middleware does,
// for every request).
func withLogFields(ctx context.Context) context.Context {
	return context.WithValue(ctx, logFieldsKey{}, &logFields{})
}

// bindLog adds a field to every later line of the request that ctx belongs to.
func bindLog(ctx context.Context, key, value string) {
	if fields, ok := ctx.Value(logFieldsKey{}).(*logFields); ok {
		fields.mu.Lock()
		fields.attrs = append(fields.attrs, slog.String(key, value))
		fields.mu.Unlock()
	}
}

func boundFields(ctx context.Context) []slog.Attr {
	fields, ok := ctx.Value(logFieldsKey{}).(*logFields)
	if !ok {
		return nil
	}
	fields.mu.Lock()
	defer fields.mu.Unlock()
	return append([]slog.Attr(nil), fields.attrs...)
}
