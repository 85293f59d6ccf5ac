"""What every service's unit tests share: fresh in-memory fakes (shop_dapr.testing),
one per test. A test module may override any of them with a fixture of its own."""

import pytest
from shop_dapr.testing import InMemoryMailSender, InMemoryPublisher, InMemoryStateStore


@pytest.fixture
def state() -> InMemoryStateStore:
    return InMemoryStateStore()


@pytest.fixture
def publisher() -> InMemoryPublisher:
    return InMemoryPublisher()


@pytest.fixture
def mail() -> InMemoryMailSender:
    return InMemoryMailSender()
