"""In-memory fakes of the Dapr building blocks, for unit tests only: the same rules
(ETags, first write wins) without a sidecar. Production code never imports this."""

import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.types import ASGIApp

from shop_dapr.app import Dapr
from shop_dapr.bindings import MailSender
from shop_dapr.invoke import Invoker
from shop_dapr.pubsub import Publisher
from shop_dapr.secrets import SecretNotFound, SecretStore
from shop_dapr.state import ETagMismatch, StateEntry, StateStore
from shop_dapr.workflows import WorkflowAlreadyRunning, Workflows, WorkflowState


class InMemoryStateStore:
    """Same ETag rules as Dapr; TTLs recorded (not enforced)."""

    def __init__(self) -> None:
        self.entries: dict[str, StateEntry] = {}
        self.ttls: dict[str, int] = {}
        self._etags = itertools.count(1)

    async def get(self, key: str) -> StateEntry | None:
        return self.entries.get(key)

    async def get_many(self, keys: Sequence[str]) -> dict[str, StateEntry]:
        return {key: self.entries[key] for key in keys if key in self.entries}

    async def create(self, key: str, value: bytes, ttl_seconds: int | None = None) -> bool:
        if key in self.entries:
            return False
        await self.save(key, value, ttl_seconds=ttl_seconds)
        return True

    def _check(self, key: str, etag: str | None) -> None:
        if etag is not None and (key not in self.entries or self.entries[key].etag != etag):
            raise ETagMismatch(key)

    async def save(
        self, key: str, value: bytes, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        self._check(key, etag)
        self.entries[key] = StateEntry(value=value, etag=str(next(self._etags)))
        if ttl_seconds:
            self.ttls[key] = ttl_seconds

    async def delete(self, key: str, etag: str | None = None) -> None:
        self._check(key, etag)
        self.entries.pop(key, None)


@dataclass
class InMemoryPublisher:
    published: list[tuple[str, str, BaseModel]] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)
    # Set to an exception to make every publish fail with it (a broker outage).
    failure: Exception | None = None

    async def publish(
        self, topic: str, event_type: str, payload: BaseModel, event_id: str | None = None
    ) -> None:
        if self.failure is not None:
            raise self.failure
        self.published.append((topic, event_type, payload))
        self.ids.append(event_id)


class InMemorySecretStore:
    def __init__(self, secrets: dict[str, str] | None = None) -> None:
        self._secrets = secrets or {}

    async def get(self, name: str) -> str:
        try:
            return self._secrets[name]
        except KeyError:
            raise SecretNotFound(f"secret '{name}' is not in the fake store") from None


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


@dataclass
class InMemoryMailSender:
    sent: list[Mail] = field(default_factory=list)

    async def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append(Mail(to, subject, body))


@dataclass
class InMemoryWorkflows:
    """Records what was started and raised; runs nothing (the workflow's own tests drive
    it step by step)."""

    started: dict[str, tuple[str, BaseModel]] = field(default_factory=dict)
    raised: list[tuple[str, str, BaseModel]] = field(default_factory=list)
    states: dict[str, WorkflowState] = field(default_factory=dict)

    async def start(self, name: str, instance_id: str, data: BaseModel) -> None:
        state = self.states.get(instance_id)
        if instance_id in self.started and (state is None or not state.finished):
            raise WorkflowAlreadyRunning(instance_id)
        self.started[instance_id] = (name, data)

    async def raise_event(self, instance_id: str, event: str, data: BaseModel) -> None:
        self.raised.append((instance_id, event, data))

    async def state(self, instance_id: str) -> WorkflowState | None:
        return self.states.get(instance_id)


def _no_sidecar(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected call through the sidecar: {request.method} {request.url}")


def fake_dapr(
    *,
    state: StateStore | None = None,
    publisher: Publisher | None = None,
    broadcaster: Publisher | None = None,
    secrets: SecretStore | None = None,
    mail: MailSender | None = None,
    workflows: Workflows | None = None,
    sidecar: Callable[[httpx.Request], httpx.Response] = _no_sidecar,
) -> Dapr:
    """Fakes for every building block, or the ones given; `sidecar` answers the
    service invocations (an httpx.MockTransport handler)."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(sidecar), base_url="http://sidecar")
    return Dapr(
        state=state or InMemoryStateStore(),
        publisher=publisher or InMemoryPublisher(),
        broadcaster=broadcaster or InMemoryPublisher(),
        secrets=secrets or InMemorySecretStore(),
        mail=mail or InMemoryMailSender(),
        invoker=Invoker(client),
        workflows=workflows or InMemoryWorkflows(),
    )


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`app` with its lifespan running (its wiring done), and an in-process client of it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{app.title}") as c:
            yield c


@contextmanager
def served_on_a_port(app: ASGIApp, timeout: float = 20.0) -> Iterator[str]:
    """`app` served by uvicorn in a thread, on a loopback port the kernel picks, for
    clients that need a real socket (a browser, a WebSocket); yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start serving within {timeout:.0f}s")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
