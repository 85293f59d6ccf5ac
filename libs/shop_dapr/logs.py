"""One JSON object a line on stderr, for every service: easy to grep, ship and join.

Fields: time, level, service, logger, message; trace_id and span_id inside a traced
request (the same ids Zipkin shows, so a log line leads to its trace and back); the
fields bound with `bind_log_context` (order_id); and exc when there is a traceback."""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from shop_dapr.telemetry import current_trace_ids

_context: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039


def bind_log_context(**fields: str) -> None:
    """Add `fields` to every later log line of the current request (its task ends with
    it, and the binding with it)."""
    _context.set({**_context.get(), **fields})


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids = current_trace_ids()
        if ids:
            line["trace_id"], line["span_id"] = ids
        line.update(_context.get())
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(service: str, level: int = logging.INFO) -> None:
    """Route every logger, uvicorn's included, through one JSON handler on the root.
    Safe to call again (each create_app does): the handler is added once."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter(service))
        root.addHandler(handler)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # shop.access (metrics.py) writes one line a request, inside its trace, and leaves
    # out probes and scrapes; uvicorn's line would say it again, and httpx's one a call
    # to the sidecar, whose own span already says it.
    for chatty in ("uvicorn.access", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
