"""One way to start a service: `service_app` builds the FastAPI app, its lifespan (the
sidecar's clients, then the service's own wiring) and everything every service gets
(shop_dapr.platform). A service's `main.py` names its routers, the components it needs,
and how it wires its use cases; unit tests hand in fakes through the `dapr` seam."""

import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Literal, TypeVar

from fastapi import APIRouter, FastAPI
from httpx_aiohttp import AiohttpTransport
from pydantic import BaseModel
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection

from shop_dapr.bindings import DaprMailSender, MailSender
from shop_dapr.health import broker, state_store
from shop_dapr.invoke import Invoker, sidecar_http_client
from shop_dapr.platform import serve_platform
from shop_dapr.pubsub import DaprPublisher, Publisher
from shop_dapr.repository import Repository
from shop_dapr.secrets import DaprSecretStore, SecretStore
from shop_dapr.sidecar import SidecarApi, SidecarSettings, sidecar_session, wait_for_sidecar
from shop_dapr.state import DaprStateStore, StateStore
from shop_dapr.workflows import DaprWorkflows, Workflows

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass
class Dapr:
    """What a service may use of its sidecar. The lifespan builds the real adapters (they
    cost nothing until used: a service uses what it needs); unit tests pass fakes
    (`shop_dapr.testing`) of the same shape."""

    state: StateStore
    publisher: Publisher
    # Publishes on the `broadcast` component, whose messages reach every instance of each
    # subscribing app, not one (components/<profile>/broadcast.yaml, docs/scaling.md).
    broadcaster: Publisher
    secrets: SecretStore
    mail: MailSender
    invoker: Invoker
    workflows: Workflows

    def repository(self, model: type[M], prefix: str) -> Repository[M]:
        """The records of `model` in the service's state store, under `<prefix>:<id>`."""
        return Repository(self.state, model, prefix)


# How a service wires its use cases, once the sidecar is there: an async context manager
# (set up, yield while serving, clean up). It registers collaborators with `provide`.
Wire = Callable[[FastAPI, Dapr], AbstractAsyncContextManager[None]]
Needs = Literal["state", "broker"]


def service_app(
    name: str,
    settings: SidecarSettings,
    *,
    routers: Sequence[APIRouter],
    wire: Wire,
    needs: Sequence[Needs] = (),
    dapr: Dapr | None = None,
    protected: Sequence[str] = ("/",),
    also_open: Sequence[str] = (),
    middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """The app of service `name`. `needs`: the components readiness checks through the
    sidecar. `dapr`: fakes for unit tests (no sidecar is waited for, no readiness is
    checked). `protected` and `also_open`: which routes only the sidecar may call (see
    apptoken). `middleware`: the service's own, inside the platform's (so that what it
    refuses is still measured, logged and traced)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if dapr is not None:
            async with wire(app, dapr):
                yield
            return
        async with (
            sidecar_session(settings) as session,
            sidecar_http_client(settings, AiohttpTransport(client=session)) as sidecar,
        ):
            app.state.sidecar = sidecar  # the readiness probe asks through it (health.py)
            await wait_for_sidecar(sidecar, settings.dapr_startup_timeout_seconds)
            api = SidecarApi(session, settings.dapr_call_timeout_seconds)
            real = Dapr(
                state=DaprStateStore(api, settings.statestore),
                publisher=DaprPublisher(api, settings.pubsub),
                broadcaster=DaprPublisher(api, settings.broadcast),
                secrets=DaprSecretStore(api, settings.secretstore),
                mail=DaprMailSender(api, settings.mail_binding, settings.mail_from),
                invoker=Invoker(sidecar),
                workflows=DaprWorkflows(api),
            )
            async with wire(app, real):
                # What start-up made lives as long as the app: out of the collector's way,
                # so that its full collections scan only what requests make. Those scans
                # were the cached pages' tail: gateway p99 at 32 connections 34-42 ms
                # before, 12-16 ms after (5 runs each, docs/benchmarks/analysis.md).
                gc.collect()
                gc.freeze()
                yield

    app = FastAPI(title=name, version="0.1.0", lifespan=lifespan, middleware=middleware)
    for router in routers:
        app.include_router(router)
    checks = {"state": state_store(settings.statestore), "broker": broker(settings.pubsub)}
    requires = [checks[need] for need in needs] if dapr is None else None
    serve_platform(app, name, settings, requires=requires, protected=protected, also_open=also_open)
    return app


def provide(app: FastAPI, *collaborators: object) -> None:
    """Make `collaborators` available to routes by their type (see `provided`)."""
    registry: dict[type, object] = app.state.__dict__.setdefault("provided", {})
    for collaborator in collaborators:
        registry[type(collaborator)] = collaborator


def provided(kind: type[T]) -> Callable[[HTTPConnection], Awaitable[T]]:
    """A dependency giving the route the `kind` its service provided at start-up:
    `ServiceDep = Annotated[OrdersService, Depends(provided(OrdersService))]`."""

    # async: FastAPI runs a plain function dependency in a worker thread, a thread hop
    # on every request (measured: +200 us a request in-process).
    async def dependency(connection: HTTPConnection) -> T:
        return provided_by(connection.app, kind)

    return dependency


def provided_by(app: FastAPI, kind: type[T]) -> T:
    """What `app` provided of `kind` at start-up (for tests: its lifespan must run)."""
    found = app.state.__dict__.get("provided", {}).get(kind)
    if not isinstance(found, kind):
        raise LookupError(f"nothing of type {kind.__name__} was provided at start-up")
    return found
