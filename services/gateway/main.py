"""Composition root: `uvicorn --factory gateway.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from shop_dapr import sidecar_http_client, wait_for_sidecar
from shop_dapr.health import health_router

from gateway import api, events
from gateway.domain import TtlCache
from gateway.service import ProductReader
from gateway.settings import Settings


def create_app(
    settings: Settings | None = None, sidecar_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The gateway app. Unit tests pass a `sidecar_transport` that plays the sidecar."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with sidecar_http_client(settings, transport=sidecar_transport) as sidecar:
            if sidecar_transport is None:
                await wait_for_sidecar(sidecar, settings.dapr_startup_timeout_seconds)
            app.state.sidecar = sidecar
            cache: TtlCache[Any] = TtlCache(settings.product_cache_ttl_seconds)
            app.state.products = ProductReader(sidecar, settings.catalog_app_id, cache)
            yield

    app = FastAPI(title="shop gateway", version="0.1.0", lifespan=lifespan)
    app.include_router(api.router)
    app.include_router(events.router)
    app.include_router(health_router(check_sidecar=sidecar_transport is None))
    return app
