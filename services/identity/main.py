"""Composition root: `uvicorn --factory identity.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from argon2 import PasswordHasher
from fastapi import FastAPI
from shop_contracts.identity import JWT_SIGNING_KEY_SECRET
from shop_dapr.app import Dapr, provide, service_app

from identity.api import router
from identity.domain import InvalidSigningKey, SigningKey
from identity.service import IdentityService, Passwords
from identity.settings import Settings


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> FastAPI:
    """The identity app; unit tests pass fakes as `dapr` (shop_dapr.testing.fake_dapr)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def wire(app: FastAPI, dapr: Dapr) -> AsyncIterator[None]:
        signing_key = await _signing_key(dapr)
        hasher = PasswordHasher(
            time_cost=settings.password_time_cost,
            memory_cost=settings.password_memory_kib,
            parallelism=settings.password_parallelism,
        )
        passwords = Passwords(hasher, settings.password_hash_concurrency)
        provide(
            app,
            await IdentityService.create(dapr, passwords, signing_key, settings.token_ttl_seconds),
        )
        yield

    app = service_app("identity", settings, routers=[router], wire=wire, needs=["state"], dapr=dapr)
    return app


async def _signing_key(dapr: Dapr) -> SigningKey:
    pem = await dapr.secrets.get(JWT_SIGNING_KEY_SECRET)
    try:
        return SigningKey.from_pem(pem)
    except InvalidSigningKey as exc:
        raise InvalidSigningKey(
            f"secret '{JWT_SIGNING_KEY_SECRET}' is unusable: {exc}; generate one with "
            "`openssl genpkey -algorithm ed25519`"
        ) from None
