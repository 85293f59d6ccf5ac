"""A span around one use case (a checkout, a charge, a reservation), with the order it
concerns on the span and on every log line written inside it."""

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace

from shop_dapr.logs import bind_log_context

_tracer = trace.get_tracer("shop")


@contextmanager
def use_case(name: str, order_id: str | None = None) -> Iterator[trace.Span]:
    attributes = {}
    if order_id:
        attributes["shop.order_id"] = order_id
        bind_log_context(order_id=order_id)
    with _tracer.start_as_current_span(name, attributes=attributes) as span:
        yield span
