"""Composition root: `uvicorn --factory cart.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shop_dapr.app import Dapr, provide, service_app

from cart import api, events
from cart.service import CartService, CatalogPrices
from cart.settings import Settings


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> FastAPI:
    """The cart app; unit tests pass fakes as `dapr` (shop_dapr.testing.fake_dapr)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def wire(app: FastAPI, dapr: Dapr) -> AsyncIterator[None]:
        service = CartService(
            dapr,
            CatalogPrices(dapr.invoker, settings.catalog_app_id),
            ttl_seconds=settings.cart_ttl_seconds,
            handled_event_ttl_seconds=settings.handled_event_ttl_seconds,
        )
        provide(app, service)
        yield

    return service_app(
        "cart", settings, routers=[api.router, events.router], wire=wire, needs=["state"], dapr=dapr
    )
