"""Composition root: `uvicorn --factory payments.main:create_app`."""

import random
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

from payments import api, events
from payments.provider import PaymentProvider, SimulatedProvider
from payments.service import PaymentService
from payments.settings import Settings


@dataclass
class Adapters:
    state: StateStore
    publisher: Publisher
    secrets: SecretStore
    provider: PaymentProvider


def create_app(settings: Settings | None = None, adapters: Adapters | None = None) -> FastAPI:
    """The payments app. Unit tests pass in-memory `adapters`; otherwise the lifespan
    connects to the sidecar and charges through the simulated provider."""
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
                state = DaprStateStore(client, settings.statestore, timeout)
                provider = SimulatedProvider(
                    state,
                    settings.provider_latency_ms,
                    settings.provider_failure_rate,
                    random.Random(settings.provider_seed),  # noqa: S311 (picks outages only)
                )
                await _wire(
                    app,
                    settings,
                    Adapters(
                        state=state,
                        publisher=DaprPublisher(client, settings.pubsub, timeout),
                        secrets=DaprSecretStore(client, settings.secretstore, timeout),
                        provider=provider,
                    ),
                )
                yield

    app = FastAPI(title="payments", version="0.1.0", lifespan=lifespan)
    app.include_router(api.router)
    app.include_router(events.router)
    requires = (
        [state_store(settings.statestore), broker(settings.pubsub)] if adapters is None else None
    )
    serve_platform(app, "payments", settings, requires=requires)
    return app


async def _wire(app: FastAPI, settings: Settings, adapters: Adapters) -> None:
    app.state.service = PaymentService(adapters.state, adapters.publisher, adapters.provider)
    app.state.webhook_secret = await adapters.secrets.get(settings.webhook_secret_name)
