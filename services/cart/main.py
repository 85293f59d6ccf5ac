"""Composition root: `uvicorn --factory cart.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from shop_dapr import (
    DaprStateStore,
    StateStore,
    dapr_client,
    sidecar_http_client,
)
from shop_dapr.health import state_store
from shop_dapr.platform import serve_platform

from cart import api, events
from cart.service import CartService, CatalogPrices
from cart.settings import Settings


@dataclass
class Adapters:
    state: StateStore


def create_app(
    settings: Settings | None = None,
    adapters: Adapters | None = None,
    sidecar_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The cart app. Unit tests pass in-memory `adapters` and a `sidecar_transport` that
    plays the sidecar; otherwise the lifespan connects to the real sidecar."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with sidecar_http_client(settings, transport=sidecar_transport) as sidecar:
            app.state.sidecar = sidecar
            if adapters is not None:
                _wire(app, settings, adapters, sidecar)
                yield
                return
            async with dapr_client(settings, sidecar) as client:
                state = DaprStateStore(
                    client, settings.statestore, settings.dapr_call_timeout_seconds
                )
                _wire(app, settings, Adapters(state=state), sidecar)
                yield

    app = FastAPI(title="cart", version="0.1.0", lifespan=lifespan)
    app.include_router(api.router)
    app.include_router(events.router)
    requires = [state_store(settings.statestore)] if adapters is None else None
    serve_platform(app, "cart", settings, requires=requires)
    return app


def _wire(app: FastAPI, settings: Settings, adapters: Adapters, sidecar: httpx.AsyncClient) -> None:
    app.state.service = CartService(
        adapters.state,
        CatalogPrices(sidecar, settings.catalog_app_id),
        ttl_seconds=settings.cart_ttl_seconds,
        handled_event_ttl_seconds=settings.handled_event_ttl_seconds,
    )
