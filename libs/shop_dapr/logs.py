"""One JSON object a line on stderr, for every service: easy to grep, ship and join.

Fields: time, level, service, logger, message; trace_id and span_id inside a traced
request (the same ids Zipkin shows, so a log line leads to its trace and back); the
fields bound with `bind_log_context` (order_id); and exc when there is a traceback.

The lines are made by structlog: its ProcessorFormatter, on the root logger's one
handler, turns every stdlib record (`logging.getLogger(__name__)` in the services,
uvicorn's) into the same line as a structlog logger's (`structlog.get_logger()`, whose
keyword arguments become fields of their own). A stdlib record's `extra` fields, its
arguments apart from the message they format and its stack are never written: what a
line carries is the list above."""

import logging
import re
from datetime import UTC, datetime

import structlog
from structlog.contextvars import bind_contextvars, merge_contextvars
from structlog.typing import EventDict, Processor, WrappedLogger

from shop_dapr.telemetry import current_trace_ids

# The fields of a line, in the order it writes them; bound fields come after these, exc last.
FIELDS = ("time", "level", "service", "logger", "message", "trace_id", "span_id")


def bind_log_context(**fields: str) -> None:
    """Add `fields` to every later log line of the current request (its task ends with
    it, and the binding with it: contextvars, through structlog's merge_contextvars)."""
    bind_contextvars(**fields)


def _add_time(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # When the record was made, not when it is formatted, in milliseconds and UTC.
    created = event_dict["_record"].created
    event_dict["time"] = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return event_dict


def _add_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    ids = current_trace_ids()
    if ids:
        event_dict["trace_id"], event_dict["span_id"] = ids
    return event_dict


def _drop_stack(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # stack_info=True is written by no service; a stack would be a field of its own.
    event_dict.pop("stack_info", None)
    return event_dict


def _exc_as_exc(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # format_exc_info writes the traceback under `exception`; the line calls it exc.
    if "exception" in event_dict:
        event_dict["exc"] = event_dict.pop("exception")
    return event_dict


# uvicorn logs each WebSocket it accepts with its whole path, and /ws/orders carries the
# buyer's access token in its query (browsers cannot set headers on a WebSocket).
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"]+")


def _redact_tokens(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    message = event_dict.get("message")
    if isinstance(message, str) and "token=" in message:
        event_dict["message"] = _TOKEN_IN_QUERY.sub(r"\1[redacted]", message)
    return event_dict


def _in_line_order(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    line = {field: event_dict.pop(field) for field in FIELDS if field in event_dict}
    exc = event_dict.pop("exc", None)
    line.update(event_dict)
    if exc is not None:
        line["exc"] = exc
    return line


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter for the root handler: one JSON line a record, whether the
    record comes from a stdlib logger or a structlog one."""

    def __init__(self, service: str) -> None:
        def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
            event_dict["service"] = service
            return event_dict

        processors: list[Processor] = [
            _add_time,
            structlog.stdlib.add_log_level,
            add_service,
            structlog.stdlib.add_logger_name,
            structlog.processors.EventRenamer("message"),
            _redact_tokens,
            _add_trace_ids,
            merge_contextvars,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_stack,
            structlog.processors.format_exc_info,
            _exc_as_exc,
            _in_line_order,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
        # No foreign_pre_chain and no ExtraAdder: a stdlib record brings its message
        # (formatted with its arguments) and its exc_info, nothing else.
        super().__init__(processors=processors, pass_foreign_args=False)
        self.service = service


def configure_logging(service: str, level: int = logging.INFO) -> None:
    """Route every logger, uvicorn's included, through one JSON handler on the root.
    Safe to call again (each create_app does): the handler is added once, and the last
    call names the service (one process serves one service; tests build several)."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter(service))
            break
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter(service))
        root.addHandler(handler)
    # structlog's own loggers hand their event to the same handler, through stdlib.
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # shop.access (metrics.py) writes one line a request, inside its trace, and leaves
    # out probes and scrapes; uvicorn's line would say it again, and httpx's one a call
    # to the sidecar, whose own span already says it.
    for chatty in ("uvicorn.access", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
