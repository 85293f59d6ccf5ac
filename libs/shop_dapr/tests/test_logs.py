import asyncio
import json
import logging
import sys

from shop_dapr.logs import JsonFormatter
from shop_dapr.telemetry import configure_tracing
from shop_dapr.usecase import use_case


def test_a_record_is_one_json_line_with_the_service() -> None:
    record = logging.LogRecord(
        "orders.service", logging.WARNING, "f.py", 1, "order %s", ("o1",), None
    )
    line = json.loads(JsonFormatter("orders").format(record))
    assert (line["service"], line["level"], line["logger"], line["message"]) == (
        "orders",
        "warning",
        "orders.service",
        "order o1",
    )
    assert "exc" not in line


def test_a_traceback_stays_inside_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "f.py", 1, "failed", (), sys.exc_info())
    formatted = JsonFormatter("x").format(record)
    assert "\n" not in formatted
    assert "ValueError: boom" in json.loads(formatted)["exc"]


def test_a_line_inside_a_use_case_carries_its_trace_span_and_order() -> None:
    configure_tracing("orders")
    record = logging.LogRecord("x", logging.INFO, "f.py", 1, "placed", (), None)

    async def in_its_own_task() -> tuple[dict[str, str], str, str]:
        with use_case("orders.checkout", order_id="o-42") as span:
            context = span.get_span_context()
            line = json.loads(JsonFormatter("orders").format(record))
            return line, format(context.trace_id, "032x"), format(context.span_id, "016x")

    line, trace_id, span_id = asyncio.run(in_its_own_task())
    assert (line["trace_id"], line["span_id"], line["order_id"]) == (trace_id, span_id, "o-42")
    # Outside that request's task, nothing of it remains.
    outside = json.loads(JsonFormatter("orders").format(record))
    assert not {"trace_id", "span_id", "order_id"} & set(outside)
