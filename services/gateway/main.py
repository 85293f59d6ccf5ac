"""Composition root: `uvicorn --factory gateway.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from shop_dapr import sidecar_http_client, wait_for_sidecar
from shop_dapr.health import Requirement
from shop_dapr.invoke import pooled_client
from shop_dapr.platform import serve_platform

from gateway import api, events
from gateway.auth import Authenticator, verified_user_id
from gateway.domain import RateLimiter, TtlCache
from gateway.edge import BodyLimit, RateLimit
from gateway.service import ProductReader, Upstream, UpstreamUnavailable
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
            upstream = Upstream(sidecar, direct_clients(settings))
            app.state.sidecar = sidecar
            app.state.settings = settings
            app.state.upstream = upstream
            app.state.authenticator = Authenticator(sidecar, settings.identity_app_id)
            cache: TtlCache[httpx.Response] = TtlCache(settings.product_cache_ttl_seconds)
            app.state.products = ProductReader(upstream, settings.catalog_app_id, cache)
            try:
                yield
            finally:
                await upstream.aclose()

    app = FastAPI(
        title="shop",
        version="1.0.0",
        description="The shop's public API. Every route forwards to a service through Dapr.",
        lifespan=lifespan,
    )
    app.include_router(api.router)
    app.include_router(events.router)
    app.add_exception_handler(UpstreamUnavailable, api.upstream_unavailable)
    limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    app.add_middleware(RateLimit, limiter=limiter, verified_user=verified_user_id)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    # Installed after the limits, so it wraps them: refused requests are measured too.
    # Clients call the public API directly; only the sidecar delivers events. The
    # gateway owns no component: ready when its sidecar is.
    requires: list[Requirement] | None = [] if sidecar_transport is None else None
    serve_platform(app, "gateway", settings, requires=requires, protected=("/events",))
    return app


def direct_clients(settings: Settings) -> dict[str, httpx.AsyncClient]:
    """Clients straight to the apps in `direct_upstreams` (benchmarks only)."""
    timeout = settings.dapr_call_timeout_seconds
    return {
        app_id: pooled_client(str(url).rstrip("/"), settings.app_api_token, timeout)
        for app_id, url in settings.direct_upstreams.items()
    }
