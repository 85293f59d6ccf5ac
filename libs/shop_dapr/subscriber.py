"""Topic handlers: `topic` owns what every one of them does around its use case.

A handler is declared with the route the subscription delivers to and the payload model:

    @topic(router, "/orders/order-created", OrderCreated)
    async def on_order_created(event: CloudEvent[OrderCreated], service: ServiceDep) -> None:
        await service.settle(event.data)

It receives the typed event first, then any FastAPI dependencies (ServiceDep...), by
name. A handler with outcomes to choose from returns each TopicReply explicitly; one
with nothing to choose returns None, which is SUCCESS. Around it, `topic`:
- reads the raw body (EventBody), never through a FastAPI body model: its 422 would be
  redelivered forever. A body that is not JSON, or not a valid event of the payload
  type, is answered DROP, so it lands in the subscription's dead-letter topic at once;
- answers RETRY when the handler raises. The sidecar treats a 5xx and RETRY alike
  (both are retried under the `deliveryRetry` resiliency policy, then dead-lettered),
  so one readable answer for every failure costs nothing: the metrics count it as a
  retry, and the log line and the trace name the event. Failures a handler expects
  (a provider down, a mail not sent) are best caught there, to log a reason instead
  of a traceback.

The CloudEvent's topic is kept on the request for the metrics (shop_dapr.metrics)."""

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar, cast, get_type_hints

from fastapi import APIRouter, Depends, Request
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from pydantic import BaseModel

from shop_dapr.cloudevents import CloudEvent, TopicReply, parse_event

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
P = ParamSpec("P")
Handler = Callable[Concatenate[CloudEvent[T], P], Awaitable[TopicReply | None]]


async def _event_body(request: Request) -> Any:
    try:
        body = json.loads(await request.body())
    except ValueError:
        log.warning("dropping a delivery to %s whose body is not JSON", request.url.path)
        return None
    if isinstance(body, dict) and isinstance(body.get("topic"), str):
        request.state.event_topic = body["topic"]
    return body


EventBody = Annotated[Any, Depends(_event_body)]
"""The request body of a topic handler, as JSON, without FastAPI's validation: a body
that is not JSON becomes None, never a 422."""

_BODY = "topic_event_body_"  # the endpoint's own parameter, beside the handler's


def topic(
    router: APIRouter, path: str, payload: type[T]
) -> Callable[[Handler[T, P]], Handler[T, P]]:
    """Serve `handler` at POST `path` of `router` (see the module's docstring); the
    handler itself is returned unchanged."""

    def register(handler: Handler[T, P]) -> Handler[T, P]:
        call = cast(Callable[..., Awaitable[TopicReply | None]], handler)
        route = router.prefix + path

        async def endpoint(**values: Any) -> dict[str, str]:
            event = parse_event(values.pop(_BODY), payload)
            if event is None:
                return TopicReply.DROP.body()
            try:
                reply = await call(event, **values)
            except Exception as exc:
                log.exception("%s event %s not handled, asking for redelivery", route, event.id)
                span = trace.get_current_span()
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                return TopicReply.RETRY.body()
            return (TopicReply.SUCCESS if reply is None else reply).body()

        endpoint.__signature__ = _endpoint_signature(handler)  # type: ignore[attr-defined]
        endpoint.__name__ = endpoint.__qualname__ = handler.__name__
        endpoint.__module__ = handler.__module__
        router.add_api_route(
            path, endpoint, methods=["POST"], name=handler.__name__, include_in_schema=False
        )
        return handler

    return register


def _endpoint_signature(handler: Callable[..., Any]) -> inspect.Signature:
    """What FastAPI reads to inject: the raw body and the handler's dependencies, that is
    every parameter of the handler but its first (the event), with their annotations
    resolved where the handler was written."""
    hints = get_type_hints(handler, include_extras=True)
    _, *dependencies = inspect.signature(handler).parameters.values()
    parameters = [inspect.Parameter(_BODY, inspect.Parameter.KEYWORD_ONLY, annotation=EventBody)]
    for parameter in dependencies:
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            raise TypeError(f"{handler.__name__}: {parameter.name} must be passable by name")
        if parameter.name == _BODY:
            raise TypeError(f"{handler.__name__}: {_BODY} is the endpoint's own parameter")
        annotation = hints.get(parameter.name, parameter.annotation)
        parameters.append(
            parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        )
    return inspect.Signature(parameters, return_annotation=dict[str, str])
