"""Composition root: `uvicorn --factory payments.main:create_app`."""

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shop_dapr.app import Dapr, provide, service_app

from payments import api, events
from payments.provider import LEDGER_PREFIX, LedgerEntry, PaymentProvider, SimulatedProvider
from payments.service import PaymentService
from payments.settings import Settings


def create_app(
    settings: Settings | None = None,
    dapr: Dapr | None = None,
    provider: PaymentProvider | None = None,
) -> FastAPI:
    """The payments app; unit tests pass fakes as `dapr` (shop_dapr.testing.fake_dapr)
    and may pass the `provider` charged instead of the simulated one."""
    settings = settings or Settings()

    @asynccontextmanager
    async def wire(app: FastAPI, dapr: Dapr) -> AsyncIterator[None]:
        secret = await dapr.secrets.get(settings.webhook_secret_name)
        charging = provider or SimulatedProvider(
            dapr.repository(LedgerEntry, LEDGER_PREFIX),
            settings.provider_latency_ms,
            settings.provider_failure_rate,
            random.Random(settings.provider_seed),  # noqa: S311 (picks outages only)
        )
        provide(app, PaymentService(dapr, charging), api.WebhookSecret(secret))
        yield

    return service_app(
        "payments",
        settings,
        routers=[api.router, events.router],
        wire=wire,
        needs=["state", "broker"],
        dapr=dapr,
    )
