"""Composition root: `uvicorn --factory notifications.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from shop_auth import JwtVerifier, fetch_jwks
from shop_dapr import (
    DaprStateStore,
    StateStore,
    dapr_client,
    sidecar_http_client,
)
from shop_dapr.bindings import DaprMailSender, MailSender
from shop_dapr.health import state_store
from shop_dapr.platform import serve_platform

from notifications import api, events
from notifications.service import Authenticator, NotificationService, StatusHub, TokenVerifier
from notifications.settings import Settings


@dataclass
class Adapters:
    state: StateStore
    mail: MailSender
    # Without one, the verifier is built from identity's JWKS on the first connection.
    verifier: TokenVerifier | None = None


def create_app(settings: Settings | None = None, adapters: Adapters | None = None) -> FastAPI:
    """The notifications app. Unit tests pass in-memory `adapters` and a fake verifier;
    otherwise the lifespan connects to the sidecar."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with sidecar_http_client(settings) as sidecar:
            app.state.sidecar = sidecar
            if adapters is not None:
                _wire(app, settings, adapters, sidecar)
                yield
                return
            async with dapr_client(settings, sidecar) as client:
                timeout = settings.dapr_call_timeout_seconds
                state = DaprStateStore(client, settings.statestore, timeout)
                mail = DaprMailSender(client, settings.mail_binding, settings.mail_from, timeout)
                _wire(app, settings, Adapters(state=state, mail=mail), sidecar)
                yield

    app = FastAPI(title="notifications", version="0.1.0", lifespan=lifespan)
    app.include_router(api.router)
    app.include_router(events.router)
    requires = [state_store(settings.statestore)] if adapters is None else None
    # Browsers open the WebSocket directly (Dapr cannot carry one).
    serve_platform(app, "notifications", settings, requires=requires, also_open=("/ws",))
    return app


def _wire(app: FastAPI, settings: Settings, adapters: Adapters, sidecar: httpx.AsyncClient) -> None:
    injected = adapters.verifier

    async def load_verifier() -> TokenVerifier:
        if injected is not None:
            return injected
        return JwtVerifier.from_jwks(await fetch_jwks(sidecar, settings.identity_app_id))

    app.state.hub = StatusHub()
    app.state.service = NotificationService(adapters.state, adapters.mail, app.state.hub)
    app.state.authenticator = Authenticator(load_verifier)
    app.state.ws_send_timeout = settings.ws_send_timeout_seconds
