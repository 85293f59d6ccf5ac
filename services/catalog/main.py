"""Composition root: `uvicorn --factory catalog.main:create_app`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from shop_dapr import (
    DaprPublisher,
    DaprSecretStore,
    DaprStateStore,
    Publisher,
    SecretStore,
    StateStore,
    dapr_client,
    sidecar_http_client,
)
from shop_dapr.health import broker, state_store
from shop_dapr.platform import serve_platform

from catalog import api, events
from catalog.service import CatalogService
from catalog.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Adapters:
    state: StateStore
    publisher: Publisher
    secrets: SecretStore


def create_app(settings: Settings | None = None, adapters: Adapters | None = None) -> FastAPI:
    """The catalog app. Unit tests pass in-memory `adapters`; otherwise the lifespan
    connects to the sidecar."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with sidecar_http_client(settings) as sidecar:
            app.state.sidecar = sidecar
            if adapters is not None:
                await _wire(app, settings, adapters)
                yield
                return
            async with dapr_client(settings, sidecar) as client:
                timeout = settings.dapr_call_timeout_seconds
                await _wire(
                    app,
                    settings,
                    Adapters(
                        state=DaprStateStore(client, settings.statestore, timeout),
                        publisher=DaprPublisher(client, settings.pubsub, timeout),
                        secrets=DaprSecretStore(client, settings.secretstore, timeout),
                    ),
                )
                yield

    app = FastAPI(title="catalog", version="0.1.0", lifespan=lifespan)
    app.include_router(api.router)
    app.include_router(events.router)
    requires = (
        [state_store(settings.statestore), broker(settings.pubsub)] if adapters is None else None
    )
    serve_platform(app, "catalog", settings, requires=requires)
    return app


async def _wire(app: FastAPI, settings: Settings, adapters: Adapters) -> None:
    service = CatalogService(adapters.state, adapters.publisher)
    app.state.service = service
    app.state.admin_token = await adapters.secrets.get(settings.admin_token_secret)
    if settings.seed_file is not None:
        created = await service.seed(settings.seed_file)
        log.info("seeded %d new products from %s", created, settings.seed_file)
