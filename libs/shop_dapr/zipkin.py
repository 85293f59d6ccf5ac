"""Spans to Zipkin's v2 JSON API, over the standard library's HTTP client.

opentelemetry-exporter-zipkin-json's exporter posts over requests, which with urllib3 and
charset_normalizer holds ~5 MB of every app and ~0.1 s of its start (measured). This one
posts with urllib, already loaded; the spans are encoded by that package's own encoder
base (its `encoder` module loads no requests), as its v2 encoder does.
"""

import json
import logging
import urllib.request
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.zipkin.encoder import JsonEncoder
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

log = logging.getLogger(__name__)

_KINDS = {
    SpanKind.SERVER: "SERVER",
    SpanKind.CLIENT: "CLIENT",
    SpanKind.PRODUCER: "PRODUCER",
    SpanKind.CONSUMER: "CONSUMER",
}


class _V2Encoder(JsonEncoder):
    """Zipkin's v2 span model (zipkin2-api.yaml), field by field as the package's
    JsonV2Encoder writes it."""

    def _encode_span(self, span: Any, encoded_local_endpoint: Any) -> dict[str, Any]:
        context = span.get_span_context()
        encoded: dict[str, Any] = {
            "traceId": self._encode_trace_id(context.trace_id),
            "id": self._encode_span_id(context.span_id),
            "name": span.name,
            "timestamp": self._nsec_to_usec_round(span.start_time),
            "duration": self._nsec_to_usec_round(span.end_time - span.start_time),
            "localEndpoint": encoded_local_endpoint,
            "kind": _KINDS.get(span.kind),
        }
        if tags := self._extract_tags_from_span(span):
            encoded["tags"] = tags
        if annotations := self._extract_annotations_from_events(span.events):
            encoded["annotations"] = annotations
        if debug := self._encode_debug(context):
            encoded["debug"] = debug
        if (parent_id := self._get_parent_id(span.parent)) is not None:
            encoded["parentId"] = self._encode_span_id(parent_id)
        return encoded


class ZipkinExporter(SpanExporter):
    """Posts each batch of `service`'s spans to `endpoint` (Zipkin's /api/v2/spans)."""

    def __init__(self, endpoint: str, service: str, timeout_seconds: float = 10.0) -> None:
        self._endpoint = endpoint
        self._local_endpoint = {"serviceName": service}
        self._timeout = timeout_seconds
        self._encoder = _V2Encoder()

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        encoded = [self._encoder._encode_span(span, self._local_endpoint) for span in spans]
        return json.dumps(encoded).encode()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        request = urllib.request.Request(  # noqa: S310 (the configured http URL)
            self._endpoint,
            data=self.encode(spans),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                status = response.status
        except OSError as exc:  # refused, timed out, or an HTTP error status
            log.warning("spans not exported to %s: %s", self._endpoint, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if status in (200, 202) else SpanExportResult.FAILURE
