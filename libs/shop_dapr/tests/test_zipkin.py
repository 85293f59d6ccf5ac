"""The exporter's spans are what the opentelemetry-exporter-zipkin-json package would send,
and reach a Zipkin-like endpoint; the package itself is imported only here."""

import json
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar, cast

import pytest
from opentelemetry.exporter.zipkin.json.v2 import JsonV2Encoder
from opentelemetry.exporter.zipkin.node_endpoint import NodeEndpoint
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from shop_dapr.zipkin import ZipkinExporter


def some_spans() -> tuple[ReadableSpan, ...]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /orders", kind=SpanKind.SERVER) as server:
        server.set_attribute("http.status_code", 201)
        server.add_event("checkout recorded", {"order_id": "o1"})
        with tracer.start_as_current_span("GET", kind=SpanKind.CLIENT) as client:
            client.set_attributes({"http.url": "http://127.0.0.1:3500/x", "tags": ["a", "b"]})
            client.set_status(Status(StatusCode.ERROR, "refused"))
        with tracer.start_as_current_span("internal work"):
            pass
    return memory.get_finished_spans()


def test_spans_are_encoded_as_the_zipkin_package_encodes_them() -> None:
    spans = some_spans()
    local = NodeEndpoint()
    local.service_name = "orders"
    # The package types what it encodes as API spans; it is handed the SDK's finished ones.
    expected = json.loads(JsonV2Encoder().serialize(cast(Sequence[Span], spans), local))
    assert json.loads(ZipkinExporter("http://unused", "orders").encode(spans)) == expected
    assert {span["kind"] for span in expected} == {"SERVER", "CLIENT", None}


class Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, Any]]] = []
    status: ClassVar[int] = 202

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(Collector.status)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def zipkin() -> Iterator[str]:
    Collector.received, Collector.status = [], 202
    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v2/spans"
    server.shutdown()
    server.server_close()


def test_a_batch_is_posted_as_json(zipkin: str) -> None:
    spans = some_spans()
    assert ZipkinExporter(zipkin, "orders").export(spans) is SpanExportResult.SUCCESS
    [(path, content_type, body)] = Collector.received
    assert (path, content_type) == ("/api/v2/spans", "application/json")
    assert [span["name"] for span in body] == [span.name for span in spans]
    assert {span["localEndpoint"]["serviceName"] for span in body} == {"orders"}


def test_a_refusal_or_no_answer_is_a_failure_not_an_exception(zipkin: str) -> None:
    Collector.status = 400
    assert ZipkinExporter(zipkin, "orders").export(some_spans()) is SpanExportResult.FAILURE
    nobody = "http://127.0.0.1:9/api/v2/spans"
    assert ZipkinExporter(nobody, "orders", 1.0).export(some_spans()) is SpanExportResult.FAILURE
