"""The catalog app in-process, on the in-memory fakes of services/conftest.py."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from shop_dapr.testing import (
    InMemoryPublisher,
    InMemorySecretStore,
    InMemoryStateStore,
    fake_dapr,
    serving,
)

from catalog.main import create_app
from catalog.settings import SEED_FILE, Settings

ADMIN = {"Authorization": "Bearer s3cret"}
MUG = {"name": "Mug", "description": "Blue", "category": "kitchen", "price_cents": 1250, "stock": 3}


async def serve(
    state: InMemoryStateStore, publisher: InMemoryPublisher, seed_file: Path | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    secrets = InMemorySecretStore({"catalog-admin-token": "s3cret"})
    dapr = fake_dapr(state=state, broadcaster=publisher, secrets=secrets)
    app = create_app(Settings(seed_file=seed_file), dapr)
    async with serving(app) as c:
        yield c


@pytest.fixture
async def client(
    state: InMemoryStateStore, publisher: InMemoryPublisher
) -> AsyncIterator[httpx.AsyncClient]:
    async for c in serve(state, publisher):
        yield c


@pytest.fixture
async def seeded(
    state: InMemoryStateStore, publisher: InMemoryPublisher
) -> AsyncIterator[httpx.AsyncClient]:
    async for c in serve(state, publisher, SEED_FILE):
        yield c
