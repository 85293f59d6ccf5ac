"""Composition root: `uvicorn --factory gateway.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI
from shop_auth import Authenticator
from shop_dapr.app import Dapr, provide, service_app
from starlette.middleware import Middleware

from gateway import api, events, updates
from gateway.auth import verified_user_id
from gateway.domain import RateLimiter
from gateway.edge import BodyLimit, RateLimit
from gateway.service import CatalogReader
from gateway.settings import Settings
from gateway.storefront import serve_storefront
from gateway.updates import OrderUpdatesRelay


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> FastAPI:
    """The gateway app; unit tests pass fakes as `dapr` (shop_dapr.testing.fake_dapr)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def wire(app: FastAPI, dapr: Dapr) -> AsyncIterator[None]:
        # Its own pool: the sidecar's carries the Dapr API token, which must not leave it.
        notifications = aiohttp.ClientSession(trust_env=False)
        provide(
            app,
            settings,
            dapr.invoker,
            Authenticator(dapr.invoker, settings.identity_app_id),
            CatalogReader(
                dapr.invoker, settings.catalog_app_id, settings.product_cache_ttl_seconds
            ),
            OrderUpdatesRelay(
                notifications, settings.notifications_url, settings.ws_connect_timeout_seconds
            ),
        )
        try:
            yield
        finally:
            await notifications.close()

    limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    # The gateway owns no component: ready when its sidecar is. Clients call it
    # directly: only /events (deliveries from its sidecar) asks for the app token.
    app = service_app(
        "gateway",
        settings,
        routers=[api.router, events.router, updates.router],
        wire=wire,
        dapr=dapr,
        protected=("/events",),
        middleware=[
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
            Middleware(RateLimit, limiter=limiter, verified_user=verified_user_id),
        ],
    )
    serve_storefront(app, settings.storefront_dir)
    app.title, app.version = "shop", "1.0.0"
    app.description = (
        "The shop's public API. Every route forwards to a service through Dapr. Live order "
        "statuses: the WebSocket `/ws/orders?token=<access token>`, one JSON message "
        '`{"order_id", "status", "total_cents", "currency"}` per change of any of your orders; '
        "a refused token closes it with 1008. The storefront is served at `/`."
    )
    return app
