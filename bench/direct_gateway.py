"""The gateway of the browse benchmark's `direct` rows: the shop's gateway app, whose
invocations of the apps named in DIRECT_UPSTREAMS go straight to those apps' own
addresses, bypassing both sidecars, to measure what the sidecars cost; every other
invocation (identity's keys) goes through the gateway's sidecar as usual. Benchmarks
only, never deployed:

    DIRECT_UPSTREAMS='{"catalog": "http://127.0.0.1:8101"}' \\
        uvicorn --factory bench.direct_gateway:create_app
"""

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from gateway.main import create_app as create_gateway
from gateway.settings import Settings
from httpx_aiohttp import AiohttpTransport
from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import BaseSettings
from shop_dapr.invoke import Invoker, sidecar_http_client
from shop_dapr.testing import fake_dapr


class Direct(BaseSettings):
    # JSON: app id -> the app's own address. The gateway's APP_API_TOKEN goes along, so
    # the app must share it (bench/shop.py gives the whole shop one).
    direct_upstreams: dict[str, AnyHttpUrl] = Field(default_factory=dict)


class StraightToApps(httpx.AsyncBaseTransport):
    """Sends an invocation of an app in `apps` to the app itself, with the token the app
    expects from its sidecar; passes every other one on to the sidecar."""

    def __init__(
        self,
        apps: dict[str, AnyHttpUrl],
        app_token: SecretStr | None,
        pool: httpx.AsyncBaseTransport,
    ) -> None:
        self._apps = {app_id: httpx.URL(str(url)) for app_id, url in apps.items()}
        self._app_token = app_token
        self._pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        app = self._apps.get(request.headers.get("dapr-app-id", ""))
        if app is not None:
            request.url = request.url.copy_with(scheme=app.scheme, host=app.host, port=app.port)
            request.headers["host"] = app.netloc.decode()
            request.headers.pop("dapr-api-token", None)  # the sidecar's
            if self._app_token is not None:
                request.headers["dapr-api-token"] = self._app_token.get_secret_value()
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        await self._pool.aclose()


def create_app() -> FastAPI:
    # The pool shop_dapr.invoke.pooled_client gives every app, for both kinds of calls.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    return direct_gateway(Settings(), Direct(), AiohttpTransport(limits=limits, trust_env=False))


def direct_gateway(settings: Settings, direct: Direct, pool: httpx.AsyncBaseTransport) -> FastAPI:
    transport = StraightToApps(direct.direct_upstreams, settings.app_api_token, pool)
    client = sidecar_http_client(settings, transport)
    # The gateway uses no building block but invocation (it owns no component): the
    # others are stand-ins that are never called.
    app = create_gateway(settings, dataclasses.replace(fake_dapr(), invoker=Invoker(client)))
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with client, serve(app):
            yield

    app.router.lifespan_context = lifespan
    return app
