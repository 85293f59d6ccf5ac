"""Tracing: one OpenTelemetry trace per request, carried in W3C `traceparent` headers
through every sidecar hop.

The sidecars continue whatever trace the app sends them: over HTTP (invocation) and over
gRPC metadata (the SDK's publish and state calls), and they write it into the CloudEvents
they publish, so a subscriber's request arrives as a child of the publisher's span. The
apps only have to instrument their server side (FastAPI), their client to the sidecar
(httpx) and the SDK's gRPC channel.

Spans are exported to Zipkin when OTEL_EXPORTER_ZIPKIN_ENDPOINT is set (SidecarSettings);
without it they are made and dropped, which costs little and keeps log correlation.
"""

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from shop_dapr.zipkin import ZipkinExporter

log = logging.getLogger(__name__)

# Probes and scrapes run every few seconds and would bury the traces worth reading.
UNTRACED_ROUTES = "/healthz,/readyz,/metrics"

_provider: TracerProvider | None = None


def configure_tracing(service: str, zipkin_endpoint: str | None = None) -> TracerProvider:
    """The process-wide tracer provider, made on the first call (OpenTelemetry allows one
    per process; unit tests build many apps in one process)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service}))
        if zipkin_endpoint:
            exporter = ZipkinExporter(zipkin_endpoint, service)
            _provider.add_span_processor(BatchSpanProcessor(exporter))
            log.info("exporting traces to %s", zipkin_endpoint)
        trace.set_tracer_provider(_provider)
    return _provider


def trace_app(app: FastAPI, service: str, zipkin_endpoint: str | None) -> None:
    """A server span for every request the app serves, continuing the caller's trace."""
    provider = configure_tracing(service, zipkin_endpoint)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=UNTRACED_ROUTES,
        exclude_spans=["receive", "send"],  # one span a request, not three
    )


def trace_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client span for every call through `client`, with `traceparent` injected."""
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=trace.get_tracer_provider())
    return client


def unsampled_traceparent() -> dict[str, str]:
    """A header that tells the sidecar not to record this call (it follows the caller's
    sampling decision): for probes, which would otherwise each start a trace."""
    return {"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"}


@contextmanager
def untraced() -> Iterator[None]:
    """No client spans and no `traceparent` injection inside this block."""
    with suppress_instrumentation():
        yield


def current_trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span, as Zipkin and the sidecars print them."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
