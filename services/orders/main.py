"""Composition root: `uvicorn --factory orders.main:create_app`."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
from fastapi import FastAPI
from shop_dapr import (
    DaprPublisher,
    DaprStateStore,
    Publisher,
    StateStore,
    dapr_client,
    sidecar_http_client,
)
from shop_dapr.health import broker, state_store
from shop_dapr.platform import serve_platform

from orders import api, events
from orders.service import OrdersService
from orders.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Adapters:
    state: StateStore
    publisher: Publisher
    sidecar_transport: httpx.AsyncBaseTransport


def create_app(settings: Settings | None = None, adapters: Adapters | None = None) -> FastAPI:
    """The orders app. Unit tests pass in-memory `adapters` (and a transport that plays
    the sidecar for invocations); otherwise the lifespan connects to the sidecar."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        transport = adapters.sidecar_transport if adapters else None
        async with sidecar_http_client(settings, transport=transport) as sidecar:
            app.state.sidecar = sidecar
            if adapters is not None:
                _wire(app, settings, sidecar, adapters.state, adapters.publisher)
                yield
                return
            async with dapr_client(settings, sidecar) as client:
                timeout = settings.dapr_call_timeout_seconds
                state = DaprStateStore(client, settings.statestore, timeout)
                publisher = DaprPublisher(client, settings.pubsub, timeout)
                service = _wire(app, settings, sidecar, state, publisher)
                sweeper = asyncio.create_task(_sweep_forever(service, settings))
                try:
                    yield
                finally:
                    sweeper.cancel()

    app = FastAPI(title="orders", version="0.1.0", lifespan=lifespan)
    app.include_router(api.router)
    app.include_router(events.router)
    requires = (
        [state_store(settings.statestore), broker(settings.pubsub)] if adapters is None else None
    )
    serve_platform(app, "orders", settings, requires=requires)
    return app


def _wire(
    app: FastAPI,
    settings: Settings,
    sidecar: httpx.AsyncClient,
    state: StateStore,
    publisher: Publisher,
) -> OrdersService:
    service = OrdersService(
        state,
        publisher,
        sidecar,
        settings.cart_app_id,
        settings.catalog_app_id,
        settings.payments_app_id,
    )
    app.state.service = service
    return service


async def _sweep_forever(service: OrdersService, settings: Settings) -> None:
    """From start-up on (a restart finds at once what a crash left open), then every
    interval; a failed sweep is logged and tried again at the next."""
    grace = timedelta(seconds=settings.sweep_grace_seconds)
    while True:
        try:
            swept = await service.sweep(grace)
            if swept:
                log.info("sweeper finished %d open checkouts", swept)
        except Exception:
            log.warning(
                "sweep failed; trying again in %.0fs",
                settings.sweep_interval_seconds,
                exc_info=True,
            )
        await asyncio.sleep(settings.sweep_interval_seconds)
