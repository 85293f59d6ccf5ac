"""Composition root: `uvicorn --factory catalog.main:create_app`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shop_dapr.app import Dapr, provide, service_app

from catalog import api, events
from catalog.api import AdminToken
from catalog.service import CatalogService
from catalog.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> FastAPI:
    """The catalog app; unit tests pass fakes as `dapr` (shop_dapr.testing.fake_dapr)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def wire(app: FastAPI, dapr: Dapr) -> AsyncIterator[None]:
        service = CatalogService(dapr)
        provide(app, service, AdminToken(await dapr.secrets.get(settings.admin_token_secret)))
        log.info("listing loaded: %d products", await service.load_listing())
        if settings.seed_file is not None:
            created = await service.seed(settings.seed_file)
            log.info("seeded %d new products from %s", created, settings.seed_file)
        yield

    return service_app(
        "catalog",
        settings,
        routers=[api.router, events.router],
        wire=wire,
        needs=["state", "broker"],
        dapr=dapr,
    )
