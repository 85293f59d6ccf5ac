"""Composition root: `uvicorn --factory identity.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from shop_contracts.identity import JWT_SIGNING_KEY_SECRET
from shop_dapr import (
    DaprSecretStore,
    DaprStateStore,
    SecretStore,
    StateStore,
    dapr_client,
    sidecar_http_client,
)
from shop_dapr.health import state_store
from shop_dapr.platform import serve_platform

from identity.api import router, validation_error
from identity.domain import InvalidSigningKey, SigningKey
from identity.service import IdentityService, Passwords
from identity.settings import Settings


@dataclass
class Adapters:
    state: StateStore
    secrets: SecretStore


def create_app(settings: Settings | None = None, adapters: Adapters | None = None) -> FastAPI:
    """The identity app. Unit tests pass in-memory `adapters`; otherwise the lifespan
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
                        secrets=DaprSecretStore(client, settings.secretstore, timeout),
                    ),
                )
                yield

    app = FastAPI(
        title="identity",
        version="0.1.0",
        lifespan=lifespan,
        exception_handlers={RequestValidationError: validation_error},
    )
    app.include_router(router)
    requires = [state_store(settings.statestore)] if adapters is None else None
    serve_platform(app, "identity", settings, requires=requires)
    return app


async def _wire(app: FastAPI, settings: Settings, adapters: Adapters) -> None:
    pem = await adapters.secrets.get(JWT_SIGNING_KEY_SECRET)
    try:
        signing_key = SigningKey.from_pem(pem)
    except InvalidSigningKey as exc:
        raise InvalidSigningKey(
            f"secret '{JWT_SIGNING_KEY_SECRET}' is unusable: {exc}; generate one with "
            "`openssl genpkey -algorithm ed25519`"
        ) from None
    hasher = PasswordHasher(
        time_cost=settings.password_time_cost,
        memory_cost=settings.password_memory_kib,
        parallelism=settings.password_parallelism,
    )
    passwords = Passwords(hasher, settings.password_hash_concurrency)
    app.state.service = await IdentityService.create(
        adapters.state, passwords, signing_key, settings.token_ttl_seconds
    )
