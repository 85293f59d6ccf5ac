from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi import FastAPI
from shop_contracts.identity import JWT_SIGNING_KEY_SECRET
from shop_dapr.testing import InMemorySecretStore, InMemoryStateStore, fake_dapr, serving

from identity.main import create_app
from identity.settings import Settings


def cheap_settings(time_cost: int = 1) -> Settings:
    """Argon2 at (about) its minimum cost: tests check behaviour, not hardness."""
    return Settings(password_time_cost=time_cost, password_memory_kib=8, password_parallelism=1)


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def secrets(signing_key: Ed25519PrivateKey) -> InMemorySecretStore:
    pem = signing_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return InMemorySecretStore({JWT_SIGNING_KEY_SECRET: pem.decode()})


@pytest.fixture
async def client(
    state: InMemoryStateStore, secrets: InMemorySecretStore
) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(identity_app(state, secrets)) as c:
        yield c


def identity_app(state: InMemoryStateStore, secrets: InMemorySecretStore) -> FastAPI:
    """The identity app on fakes, hashing cheaply."""
    return create_app(cheap_settings(), fake_dapr(state=state, secrets=secrets))
