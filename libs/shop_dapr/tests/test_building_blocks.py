"""The building blocks' adapters against a stand-in for daprd's HTTP API (an aiohttp
server answering as daprd does); the real daprd is the system tests' business."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel

from shop_dapr.bindings import DaprMailSender, MailNotSent
from shop_dapr.pubsub import DaprPublisher
from shop_dapr.secrets import DaprSecretStore, SecretNotFound
from shop_dapr.sidecar import BuildingBlockError, SidecarApi
from shop_dapr.state import DaprStateStore, ETagMismatch, StateEntry


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeDaprd:
    """Answers every request with the next queued answer, and records the requests."""

    answers: list[web.Response] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, status: int, body: object = None, **headers: str) -> None:
        text = None if body is None else body if isinstance(body, str) else json.dumps(body)
        self.answers.append(web.Response(status=status, text=text, headers=headers))

    def error(self, status: int, code: str, message: str) -> None:
        self.answer(status, {"errorCode": code, "message": message})

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(
            Seen(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                await request.read(),
            )
        )
        return self.answers.pop(0)


@pytest.fixture
def daprd() -> FakeDaprd:
    return FakeDaprd()


@pytest.fixture
async def api(daprd: FakeDaprd) -> AsyncIterator[SidecarApi]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", daprd.handle)
    async with (
        TestServer(app) as server,
        aiohttp.ClientSession(base_url=str(server.make_url("/"))) as session,
    ):
        yield SidecarApi(session, timeout_seconds=5)


@pytest.fixture
def store(api: SidecarApi) -> DaprStateStore:
    return DaprStateStore(api, "statestore")


async def test_get_reads_the_value_and_its_etag(daprd: FakeDaprd, store: DaprStateStore) -> None:
    daprd.answer(200, {"a": 1}, ETag="7")
    daprd.answer(204)

    assert await store.get("order:o 1") == StateEntry(b'{"a": 1}', "7")
    assert await store.get("order:none") is None
    assert daprd.seen[0].path == "/v1.0/state/statestore/order:o 1"


async def test_save_splices_the_json_and_guards_with_the_etag(
    daprd: FakeDaprd, store: DaprStateStore
) -> None:
    daprd.answer(204)
    await store.save("cart:ada", b'{"lines":[]}', etag="3", ttl_seconds=60)

    [item] = json.loads(daprd.seen[0].body)
    assert item == {
        "key": "cart:ada",
        "etag": "3",
        "options": {"concurrency": "first-write"},
        "metadata": {"ttlInSeconds": "60"},
        "value": {"lines": []},
    }


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (409, "possible etag mismatch. error from state store: ERR Error running script"),
        (400, "invalid etag value: invalid UUID length"),  # another store's ETag
    ],
)
async def test_a_stale_etag_is_a_mismatch(
    daprd: FakeDaprd, store: DaprStateStore, status: int, message: str
) -> None:
    daprd.error(status, "ERR_STATE_SAVE", message)
    with pytest.raises(ETagMismatch):
        await store.save("product:mug", b"{}", etag="1")
    daprd.error(status, "ERR_STATE_DELETE", message)
    with pytest.raises(ETagMismatch):
        await store.delete("product:mug", etag="1")
    assert daprd.seen[1].headers["If-Match"] == "1"


async def test_a_store_failure_names_daprs_reason(daprd: FakeDaprd, store: DaprStateStore) -> None:
    daprd.error(500, "ERR_STATE_SAVE", "failed saving state: connection refused")
    with pytest.raises(BuildingBlockError, match="ERR_STATE_SAVE: failed saving state"):
        await store.save("product:mug", b"{}")


async def test_create_judges_a_refusal_by_a_reread(daprd: FakeDaprd, store: DaprStateStore) -> None:
    daprd.answer(204)
    assert await store.create("order:o1", b"{}") is True
    daprd.error(500, "ERR_STATE_SAVE", "failed to set key")  # there already
    daprd.answer(200, {}, ETag="1")
    assert await store.create("order:o1", b"{}") is False
    daprd.error(500, "ERR_STATE_SAVE", "redis down")  # not there: a failure
    daprd.answer(204)
    with pytest.raises(BuildingBlockError, match="redis down"):
        await store.create("order:o1", b"{}")
    assert json.loads(daprd.seen[0].body)[0]["options"] == {"concurrency": "first-write"}


async def test_get_many_returns_what_exists_as_bytes(
    daprd: FakeDaprd, store: DaprStateStore
) -> None:
    daprd.answer(
        200,
        [
            {"key": "a", "data": {"x": 1}, "etag": "2"},
            {"key": "b"},  # absent
            {"key": "c", "error": "boom"},
        ],
    )
    assert await store.get_many(["a", "b", "c"]) == {"a": StateEntry(b'{"x":1}', "2")}
    assert json.loads(daprd.seen[0].body) == {"keys": ["a", "b", "c"]}
    assert await store.get_many([]) == {}  # no call


class Paid(BaseModel):
    order_id: str


async def test_publish_names_the_cloudevent(daprd: FakeDaprd, api: SidecarApi) -> None:
    daprd.answer(204)
    await DaprPublisher(api, "pubsub").publish(
        "orders.paid", "shop.paid.v1", Paid(order_id="o1"), "o1.paid"
    )

    seen = daprd.seen[0]
    assert seen.path == "/v1.0/publish/pubsub/orders.paid"
    assert seen.query == {
        "metadata.cloudevent.type": "shop.paid.v1",
        "metadata.cloudevent.id": "o1.paid",
    }
    assert json.loads(seen.body) == {"order_id": "o1"}

    daprd.error(403, "ERR_PUBSUB_FORBIDDEN", "topic orders.paid is not allowed for app id cart")
    with pytest.raises(BuildingBlockError, match="ERR_PUBSUB_FORBIDDEN"):
        await DaprPublisher(api, "pubsub").publish("orders.paid", "t", Paid(order_id="o1"))


async def test_secret_is_read_and_a_missing_one_is_named(daprd: FakeDaprd, api: SidecarApi) -> None:
    secrets = DaprSecretStore(api, "secretstore")
    daprd.answer(200, {"admin-token": "s3cret"})
    assert await secrets.get("admin-token") == "s3cret"
    daprd.error(500, "ERR_SECRET_GET", "secret nope not found")
    with pytest.raises(SecretNotFound, match=r"secret 'nope' could not be read.*not found"):
        await secrets.get("nope")


async def test_mail_goes_to_the_binding_escaped(daprd: FakeDaprd, api: SidecarApi) -> None:
    mail = DaprMailSender(api, "smtp", "shop@localhost")
    daprd.answer(200)
    await mail.send("ada@example.com", "Receipt", "1 x <b>Mug</b>")

    assert json.loads(daprd.seen[0].body) == {
        "operation": "create",
        "data": "<pre>1 x &lt;b&gt;Mug&lt;/b&gt;</pre>",
        "metadata": {
            "emailTo": "ada@example.com",
            "subject": "Receipt",
            "emailFrom": "shop@localhost",
        },
    }
    daprd.error(500, "ERR_INVOKE_OUTPUT_BINDING", "smtp: connection refused")
    with pytest.raises(MailNotSent, match="connection refused"):
        await mail.send("ada@example.com", "Receipt", "x")


async def test_a_sidecar_that_does_not_answer_is_a_building_block_error() -> None:
    async with aiohttp.ClientSession(base_url="http://127.0.0.1:9") as session:
        with pytest.raises(BuildingBlockError, match="did not answer GET"):
            await SidecarApi(session, 2).call("GET", "/v1.0/state/statestore/k")


async def test_calls_carry_the_current_trace(daprd: FakeDaprd, api: SidecarApi) -> None:
    tracer = TracerProvider().get_tracer("test")
    daprd.answer(204)
    with tracer.start_as_current_span("checkout") as span:
        await api.call("GET", "/v1.0/state/statestore/k")
        trace_id = format(span.get_span_context().trace_id, "032x")

    assert daprd.seen[0].headers["traceparent"].split("-")[1] == trace_id
