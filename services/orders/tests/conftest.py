"""The orders app in-process: in-memory state and publisher (services/conftest.py), and
a MockTransport playing the sidecar (tests/fakes.py)."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from shop_dapr.app import provided_by
from shop_dapr.testing import InMemoryPublisher, InMemoryStateStore, fake_dapr, serving

from orders.main import create_app
from orders.service import OrdersService
from orders.settings import Settings
from orders.tests.fakes import FakeSidecar


@pytest.fixture
def sidecar() -> FakeSidecar:
    return FakeSidecar()


@pytest.fixture
def app(sidecar: FakeSidecar, state: InMemoryStateStore, publisher: InMemoryPublisher) -> FastAPI:
    return create_app(
        Settings(), fake_dapr(state=state, publisher=publisher, sidecar=sidecar.handle)
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as c:
        yield c


@pytest.fixture
def service(app: FastAPI, client: httpx.AsyncClient) -> OrdersService:
    """The app's service (its lifespan is running: `client` started it)."""
    return provided_by(app, OrdersService)
