"""Composition root: `uvicorn --factory notifications.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# PyJWT loaded at start, not with the first key set as Authenticator would: a live-status
# socket joins its user's updates only once its token is verified, and importing PyJWT
# then (0.1-0.3 s) let a checkout's first updates pass before it had joined.
import shop_auth.verifier  # noqa: F401
from fastapi import FastAPI
from shop_auth import Authenticator
from shop_dapr.app import Dapr, provide, service_app

from notifications import api, events
from notifications.service import NotificationService, StatusHub
from notifications.settings import Settings


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> FastAPI:
    """The notifications app; unit tests pass fakes as `dapr` (shop_dapr.testing.fake_dapr)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def wire(app: FastAPI, dapr: Dapr) -> AsyncIterator[None]:
        hub = StatusHub()
        provide(
            app,
            settings,
            hub,
            NotificationService(dapr, hub),
            Authenticator(dapr.invoker, settings.identity_app_id),
        )
        yield

    return service_app(
        "notifications",
        settings,
        routers=[api.router, events.router],
        wire=wire,
        needs=["state"],
        dapr=dapr,
        # /ws/orders is reached by the gateway's relay, not through the sidecar (Dapr
        # cannot carry a WebSocket); the app token guards HTTP routes only, so it is open.
    )
