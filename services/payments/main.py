"""Composition root: `uvicorn --factory payments.main:create_app`."""

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shop_dapr.app import Dapr, provide, service_app

from payments import api, events
from payments.domain import verified_event
from payments.provider import SimulatedProvider
from payments.service import PaymentService
from payments.settings import Settings

log = logging.getLogger(__name__)

# How long shutdown waits for the webhook sender to stop once cancelled.
STOP_SECONDS = 5.0


def create_app(
    settings: Settings | None = None,
    dapr: Dapr | None = None,
    provider: SimulatedProvider | None = None,
) -> FastAPI:
    """The payments app; unit tests pass fakes as `dapr` (shop_dapr.testing.fake_dapr)
    and may pass the simulated `provider` (a counting one) instead of one from settings."""
    settings = settings or Settings()

    @asynccontextmanager
    async def wire(app: FastAPI, dapr: Dapr) -> AsyncIterator[None]:
        secret = await dapr.secrets.get(settings.webhook_secret_name)
        simulator = provider or SimulatedProvider(
            dapr.state,
            settings.provider_latency_ms,
            settings.provider_failure_rate,
            random.Random(settings.provider_seed),  # noqa: S311 (picks outages only)
            settings.provider_confirm_delay_ms,
        )
        service = PaymentService(dapr, simulator)
        provide(app, service, api.WebhookSecret(secret))

        async def receive(body: bytes, signature: str) -> None:
            # What POST /webhooks/provider does with the provider's call, without the
            # HTTP hop: the same verification, parsing and use case.
            if (event := verified_event(secret, body, signature, time.time())) is not None:
                await service.apply(event)

        # The simulated provider's webhook sender runs beside the app, as the real
        # provider's would run at the provider.
        webhooks = asyncio.create_task(simulator.deliver_confirmations(secret, receive))
        try:
            yield
        finally:
            webhooks.cancel()
            _, running = await asyncio.wait([webhooks], timeout=STOP_SECONDS)
            if running:
                log.warning("the simulated provider's webhook sender did not stop")

    return service_app(
        "payments",
        settings,
        routers=[api.router, events.router],
        wire=wire,
        needs=["state", "broker"],
        dapr=dapr,
    )
