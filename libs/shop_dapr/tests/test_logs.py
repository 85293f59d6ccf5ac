import json
import logging
import sys

from shop_dapr.logs import JsonFormatter


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
