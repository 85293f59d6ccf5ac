"""`topic`: the handler gets the typed event and its dependencies, and the sidecar always
gets SUCCESS, RETRY or DROP in a 200, whatever the body and whatever the handler does."""

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.routing import APIRoute
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import Span, StatusCode
from prometheus_client import REGISTRY
from pydantic import BaseModel

from shop_dapr.cloudevents import CloudEvent, TopicReply
from shop_dapr.metrics import measure_app
from shop_dapr.subscriber import topic

TOPIC = "shop.things"
PATH = "/events/shop/things"


class Thing(BaseModel):
    name: str
    count: int


class Seen:
    """What the handlers were given, reached by type like a service in `wire`."""

    def __init__(self) -> None:
        self.events: list[CloudEvent[Thing]] = []
        self.spans: list[Span] = []
        self.reply: TopicReply | None = None
        self.failure: Exception | None = None


def seen_of(request: Request) -> Seen:
    seen: Seen = request.app.state.seen
    return seen


SeenDep = Annotated[Seen, Depends(seen_of)]
router = APIRouter(prefix="/events", include_in_schema=False)


@topic(router, "/shop/things", Thing)
async def on_thing(event: CloudEvent[Thing], seen: SeenDep) -> TopicReply | None:
    seen.events.append(event)
    seen.spans.append(trace.get_current_span())
    if seen.failure is not None:
        raise seen.failure
    return seen.reply


@topic(router, "/shop/headed-things", Thing)
async def on_headed_thing(
    event: CloudEvent[Thing],
    seen: SeenDep,
    request: Request,
    x_note: Annotated[str | None, Header()] = None,
) -> TopicReply:
    assert request.url.path == "/events/shop/headed-things"
    seen.events.append(event.model_copy(update={"source": x_note or "no note"}))
    return TopicReply.SUCCESS


def event(data: object = None, **envelope: object) -> dict[str, object]:
    return {
        "id": "e-1",
        "source": "things",
        "type": "shop.things.v1",
        "specversion": "1.0",
        "topic": TOPIC,
        "pubsubname": "pubsub",
        "data": {"name": "mug", "count": 2} if data is None else data,
        **envelope,
    }


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def client(seen: Seen) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.seen = seen
    app.include_router(router)
    measure_app(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        yield c


async def deliver(client: httpx.AsyncClient, body: object, path: str = PATH) -> str:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text  # never a 422 or a 500
    status: str = response.json()["status"]
    return status


def delivered(outcome: str) -> float:
    labels = {"topic": TOPIC, "outcome": outcome}
    return REGISTRY.get_sample_value("shop_events_handled_total", labels) or 0.0


async def test_a_valid_event_reaches_the_handler_typed_and_none_is_success(
    client: httpx.AsyncClient, seen: Seen
) -> None:
    assert await deliver(client, event()) == "SUCCESS"
    [got] = seen.events
    assert (got.id, got.topic, got.data) == ("e-1", TOPIC, Thing(name="mug", count=2))


@pytest.mark.parametrize("reply", list(TopicReply))
async def test_the_handler_reply_is_the_answer(
    client: httpx.AsyncClient, seen: Seen, reply: TopicReply
) -> None:
    seen.reply = reply
    assert await deliver(client, event()) == reply.value


@pytest.mark.parametrize(
    "body",
    [
        {"not": "a cloudevent"},
        event({"name": "mug"}),  # the payload misses a field
        event({"name": "mug", "count": "many"}),
        event(id=""),
        [1, 2, 3],
        None,
        "a string",
    ],
)
async def test_a_body_that_is_not_a_valid_event_is_dropped_unhandled(
    client: httpx.AsyncClient, seen: Seen, body: object
) -> None:
    assert await deliver(client, body) == "DROP"
    assert seen.events == []


@pytest.mark.parametrize("content", [b"{not json", b"", b"\xff\xfe"])
async def test_a_body_that_is_not_json_is_dropped_not_a_422(
    client: httpx.AsyncClient, seen: Seen, content: bytes
) -> None:
    response = await client.post(
        PATH, content=content, headers={"Content-Type": "application/cloudevents+json"}
    )
    assert (response.status_code, response.json()) == (200, {"status": "DROP"})
    assert seen.events == []


async def test_a_handler_that_raises_asks_for_redelivery(
    client: httpx.AsyncClient, seen: Seen, caplog: pytest.LogCaptureFixture
) -> None:
    seen.failure = ConnectionError("state store unreachable")
    assert await deliver(client, event()) == "RETRY"
    [record] = [r for r in caplog.records if r.name == "shop_dapr.subscriber"]
    assert record.getMessage() == "/events/shop/things event e-1 not handled, asking for redelivery"
    assert record.exc_info is not None and record.exc_info[1] is seen.failure


async def test_the_failure_is_recorded_on_the_request_span(
    client: httpx.AsyncClient, seen: Seen
) -> None:
    seen.failure = ConnectionError("state store unreachable")
    # A span of our own, in case nothing instruments the request (other tests may have).
    with TracerProvider().get_tracer(__name__).start_as_current_span("delivery"):
        assert await deliver(client, event()) == "RETRY"
    [span] = seen.spans  # the one current while the handler ran: the request's
    assert isinstance(span, ReadableSpan)
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]


async def test_dependencies_are_injected_beside_the_event(
    client: httpx.AsyncClient, seen: Seen
) -> None:
    path = "/events/shop/headed-things"
    assert await deliver(client, event(), path) == "SUCCESS"
    response = await client.post(path, json=event(), headers={"X-Note": "from a header"})
    assert response.json() == {"status": "SUCCESS"}
    assert [e.source for e in seen.events] == ["no note", "from a header"]


async def test_deliveries_are_counted_by_outcome(client: httpx.AsyncClient, seen: Seen) -> None:
    before = {outcome: delivered(outcome) for outcome in ("success", "retry", "drop")}
    await deliver(client, event())
    await deliver(client, event({"name": "mug"}))
    seen.failure = RuntimeError("bug")
    await deliver(client, event())
    assert {outcome: delivered(outcome) - before[outcome] for outcome in before} == {
        "success": 1,
        "retry": 1,
        "drop": 1,
    }


async def test_the_handler_stays_callable_as_written(seen: Seen) -> None:
    typed = CloudEvent[Thing].model_validate(event())
    seen.reply = TopicReply.DROP
    assert await on_thing(typed, seen) is TopicReply.DROP
    assert seen.events == [typed]


def test_routes_are_post_only_hidden_and_named_after_the_handler() -> None:
    routes = {r.path: r for r in router.routes if isinstance(r, APIRoute)}
    assert set(routes) == {PATH, "/events/shop/headed-things"}
    route = routes[PATH]
    assert (route.methods, route.name, route.include_in_schema) == ({"POST"}, "on_thing", False)
    app = FastAPI()
    app.include_router(router)
    assert app.openapi()["paths"] == {}


def test_a_dependency_that_cannot_be_passed_by_name_is_refused() -> None:
    async def positional(event: CloudEvent[Thing], seen: SeenDep, /) -> None:
        return None

    with pytest.raises(TypeError, match="seen must be passable by name"):
        topic(APIRouter(), "/x", Thing)(positional)
