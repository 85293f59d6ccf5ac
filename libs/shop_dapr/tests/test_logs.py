import asyncio
import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog

from shop_dapr.logs import JsonFormatter, bind_log_context, configure_logging
from shop_dapr.telemetry import configure_tracing
from shop_dapr.usecase import use_case

FIELDS = ["time", "level", "service", "logger", "message"]
TRACED_FIELDS = [*FIELDS, "trace_id", "span_id"]


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
    # Exactly these fields, in this order, and the time the record was made (ms, UTC).
    assert list(line) == FIELDS
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    made = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    assert line["time"] == made


def test_an_access_token_in_a_websocket_path_is_never_written() -> None:
    # uvicorn's own line for an accepted WebSocket (its format, its arguments).
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, "f.py", 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws/orders?token=eyJhbGciOi.eyJzdWIi.sig&x=1"), None,
    )  # fmt: skip
    line = json.loads(JsonFormatter("gateway").format(record))
    assert (
        line["message"] == '127.0.0.1:5000 - "WebSocket /ws/orders?token=[redacted]&x=1" [accepted]'
    )


def test_a_traceback_stays_inside_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "f.py", 1, "failed", (), sys.exc_info())
    formatted = JsonFormatter("x").format(record)
    assert "\n" not in formatted
    line = json.loads(formatted)
    assert "ValueError: boom" in line["exc"]
    assert line["exc"].startswith("Traceback (most recent call last):")
    assert (line["level"], line["message"]) == ("error", "failed")
    assert list(line) == [*FIELDS, "exc"]


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
    assert list(line) == [*TRACED_FIELDS, "order_id"]
    # Outside that request's task, nothing of it remains.
    outside = json.loads(JsonFormatter("orders").format(record))
    assert not {"trace_id", "span_id", "order_id"} & set(outside)
    assert list(outside) == FIELDS


def test_each_task_carries_only_its_own_binding() -> None:
    formatter = JsonFormatter("orders")
    record = logging.LogRecord("x", logging.INFO, "f.py", 1, "placed", (), None)

    async def request(order_id: str, other_bound: asyncio.Event, mine: asyncio.Event) -> str:
        bind_log_context(order_id=order_id)
        mine.set()
        await other_bound.wait()  # both are bound before either writes
        return str(json.loads(formatter.format(record))["order_id"])

    async def two_requests() -> list[str]:
        first, second = asyncio.Event(), asyncio.Event()
        return list(
            await asyncio.gather(request("o-1", second, first), request("o-2", first, second))
        )

    assert asyncio.run(two_requests()) == ["o-1", "o-2"]
    assert "order_id" not in json.loads(formatter.format(record))


def test_nothing_but_the_fields_is_written() -> None:
    # What a caller hands the logger besides its message (extra fields, the arguments
    # themselves, a stack) never reaches the line: only the formatted message does.
    secret = "s3cret-token-value-1234"
    record = logging.makeLogRecord(
        {
            "name": "identity.service",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "login for %s",
            "args": ("ada@example.com",),
            "password": secret,
            "headers": {"authorization": f"Bearer {secret}"},
            "stack_info": f"Stack (most recent call last):\n  {secret}",
        }
    )
    formatted = JsonFormatter("identity").format(record)
    assert secret not in formatted
    line = json.loads(formatted)
    assert list(line) == FIELDS
    assert line["message"] == "login for ada@example.com"


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What the root JSON handler writes, once configure_logging has installed it."""
    configure_logging("orders")
    (handler,) = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    before = handler.setStream(out)
    try:
        yield out
    finally:
        handler.setStream(before)


def _lines(out: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_stdlib_and_structlog_loggers_write_the_same_line(written: io.StringIO) -> None:
    logging.getLogger("orders.service").info("order %s placed", "o1")
    structlog.get_logger("orders.service").info("order %s placed", "o1")
    first, second = _lines(written)
    assert list(first) == list(second) == FIELDS
    del first["time"], second["time"]
    expected = {
        "level": "info",
        "service": "orders",
        "logger": "orders.service",
        "message": "order o1 placed",
    }
    assert first == second == expected


def test_configuring_again_adds_no_handler_and_keeps_the_noise_out(
    written: io.StringIO,
) -> None:
    configure_logging("payments")
    configure_logging("orders")  # one handler still, naming the last service
    root = logging.getLogger()
    assert sum(isinstance(h.formatter, JsonFormatter) for h in root.handlers) == 1
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert not logging.getLogger(name).handlers
        assert logging.getLogger(name).propagate
    for chatty in ("uvicorn.access", "httpx"):
        assert logging.getLogger(chatty).getEffectiveLevel() == logging.WARNING
    logging.getLogger("httpx").info("HTTP Request: GET http://127.0.0.1:3500 200")
    logging.getLogger("uvicorn.access").info("127.0.0.1 - GET /x 200")
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("httpx").warning("retrying")
    lines = _lines(written)
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn.error", "Application startup complete."),
        ("httpx", "retrying"),
    ]
    assert {line["service"] for line in lines} == {"orders"}
