"""The payments app in-process, with in-memory adapters and a counting provider."""

from collections.abc import AsyncIterator

import httpx
import pytest
from shop_dapr.testing import (
    InMemoryPublisher,
    InMemorySecretStore,
    InMemoryStateStore,
    fake_dapr,
    serving,
)

from payments.main import create_app
from payments.settings import Settings
from payments.tests.helpers import WEBHOOK_SECRET, CountingProvider


@pytest.fixture
def provider() -> CountingProvider:
    return CountingProvider()


@pytest.fixture
async def client(
    state: InMemoryStateStore, publisher: InMemoryPublisher, provider: CountingProvider
) -> AsyncIterator[httpx.AsyncClient]:
    secrets = InMemorySecretStore({"payments-webhook-secret": WEBHOOK_SECRET})
    dapr = fake_dapr(state=state, publisher=publisher, secrets=secrets)
    app = create_app(Settings(), dapr, provider)
    async with serving(app) as c:
        yield c
