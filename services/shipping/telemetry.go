package main

// Tracing, as the Python services do it (libs/shop_dapr/telemetry.py): one trace per
// checkout, carried in W3C `traceparent` headers through every sidecar hop. daprd sends
// one with each delivery (the server span continues it), continues the one sent with a
// state, publish or invocation call, and writes it into the CloudEvents it publishes,
// so shipping's events join the checkout's trace. Spans go to Zipkin when
// OTEL_EXPORTER_ZIPKIN_ENDPOINT is set; without it they are made and dropped, which
// keeps the trace ids of the log lines.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/zipkin"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Python's default: W3C trace context and baggage.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

const tracerName = "shop/services/shipping"

func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// SetupTracing installs the process's tracer provider; the returned function flushes
// and stops it (at shutdown, so the last spans are not lost).
func SetupTracing(service, zipkinEndpoint string, log *slog.Logger) (func(context.Context) error, error) {
	options := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
	}
	if zipkinEndpoint != "" {
		exporter, err := zipkin.New(zipkinEndpoint, zipkin.WithClient(&http.Client{Timeout: 10 * time.Second}))
		if err != nil {
			return nil, err
		}
		options = append(options, sdktrace.WithBatcher(exporter))
		log.Info("exporting traces to " + zipkinEndpoint)
	}
	provider := sdktrace.NewTracerProvider(options...)
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagator)
	// The SDK's own complaints (Zipkin unreachable) as JSON lines, not plain text.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("telemetry: " + err.Error())
	}))
	return provider.Shutdown, nil
}

// injectTrace writes ctx's trace context into h: the sidecar continues it with its own
// span of the call. No client span of the app's own: the sidecar's says the same
// (docs/dapr-traps.md, "Trace context on the building blocks' HTTP API").
func injectTrace(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// traceparentOf is the W3C traceparent of ctx's current span, "" when it has none.
func traceparentOf(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier["traceparent"]
}

// contextWithTraceparent continues the trace of a stored traceparent.
func contextWithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// unsampledTraceparent tells the sidecar not to record a call (it follows the caller's
// sampling decision): for probes, which would otherwise each start a trace.
func unsampledTraceparent() string {
	ids := make([]byte, 24)
	_, _ = rand.Read(ids)
	return "00-" + hex.EncodeToString(ids[:16]) + "-" + hex.EncodeToString(ids[16:]) + "-00"
}
