"""Charges the provider confirms later: awaiting cards, the simulator's webhook sender in
the background, and what survives the payments process dying before it delivered."""

import asyncio

import httpx
import pytest
from shop_contracts.payments import (
    PAYMENT_SUCCEEDED_TOPIC,
    PAYMENT_SUCCEEDED_TYPE,
    PaymentSucceeded,
)
from shop_dapr.testing import (
    InMemoryPublisher,
    InMemorySecretStore,
    InMemoryStateStore,
    fake_dapr,
    serving,
)

from payments.domain import Charged
from payments.main import create_app
from payments.settings import Settings
from payments.tests.helpers import (
    CONFIRMED_LATER_CARD,
    NEVER_CONFIRMED_CARD,
    WEBHOOK_SECRET,
    CountingProvider,
    charge_request,
    charges,
    deliver,
    eventually,
    ledger_entries,
    order_created,
    status_of,
)


async def _paid(client: httpx.AsyncClient, order_id: str = "o-1") -> bool:
    return await status_of(client, order_id) == "succeeded"


@pytest.mark.parametrize("token", [CONFIRMED_LATER_CARD, NEVER_CONFIRMED_CARD])
async def test_awaiting_card_is_answered_as_awaiting_and_nothing_is_announced(
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    provider: CountingProvider,
    token: str,
) -> None:
    provider.webhooks_open.clear()  # the confirmation must not overtake the assertions

    response = await client.post("/charges", json=charge_request("o-1", token=token))

    body = response.json()
    assert (response.status_code, body["status"]) == (200, "awaiting_confirmation")
    assert (body["payment_id"], body["amount_cents"]) == (None, 0)
    assert publisher.published == []


async def test_confirmed_later_card_is_settled_by_the_webhook_sender_and_announced(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    await client.post("/charges", json=charge_request("o-1", token=CONFIRMED_LATER_CARD))

    await eventually(lambda: _paid(client), "the provider's confirmation applied")

    record = (await client.get("/payments/o-1")).json()
    assert record["amount_cents"] == 2500
    assert [Charged(record["payment_id"], 2500)] == charges(provider.ledger)
    assert publisher.published == [
        (
            PAYMENT_SUCCEEDED_TOPIC,
            PAYMENT_SUCCEEDED_TYPE,
            PaymentSucceeded(
                order_id="o-1", payment_id=record["payment_id"], amount_cents=2500, currency="EUR"
            ),
        )
    ]
    assert provider.charge_calls == 1


async def test_never_confirmed_card_stays_awaiting(
    client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    await client.post("/charges", json=charge_request("o-1", token=NEVER_CONFIRMED_CARD))
    # A confirmation scheduled after it, delivered: the sender has been round since.
    await client.post("/charges", json=charge_request("o-2", token=CONFIRMED_LATER_CARD))
    await eventually(lambda: _paid(client, "o-2"), "the later charge's confirmation")

    assert await status_of(client, "o-1") == "awaiting_confirmation"
    [(_, _, announced)] = publisher.published
    assert isinstance(announced, PaymentSucceeded) and announced.order_id == "o-2"


async def test_event_for_an_awaiting_charge_asks_once_and_announces_only_the_outcome(
    client: httpx.AsyncClient, publisher: InMemoryPublisher, provider: CountingProvider
) -> None:
    provider.webhooks_open.clear()
    event = order_created("o-1", token=CONFIRMED_LATER_CARD)
    assert await deliver(client, event) == "SUCCESS"
    assert await deliver(client, event) == "SUCCESS"  # redelivered: no outcome yet
    assert publisher.published == []

    provider.webhooks_open.set()
    await eventually(lambda: _paid(client), "the provider's confirmation applied")
    assert await deliver(client, event) == "SUCCESS"  # the sweeper's re-announcement

    assert provider.charge_calls == 1
    assert [topic for topic, _, _ in publisher.published] == [PAYMENT_SUCCEEDED_TOPIC] * 2
    assert publisher.published[0] == publisher.published[1]


async def test_confirmation_survives_the_payments_process_dying_before_delivery(
    state: InMemoryStateStore, publisher: InMemoryPublisher
) -> None:
    secrets = InMemorySecretStore({"payments-webhook-secret": WEBHOOK_SECRET})
    dapr = fake_dapr(state=state, publisher=publisher, secrets=secrets)
    ledger = InMemoryStateStore()  # the provider's, kept across the restart
    first = CountingProvider(ledger)
    first.webhooks_open.clear()
    async with serving(create_app(Settings(), dapr, first)) as client:
        await client.post("/charges", json=charge_request("o-1", token=CONFIRMED_LATER_CARD))

        # The sender has made the payment and is calling the webhook when the process
        # dies (its task cancelled: nothing more is written, as with kill -9).
        async def paid_at_the_provider() -> bool:
            return ledger_entries(ledger)["o-1"].payment_id is not None

        await eventually(paid_at_the_provider, "the provider's payment made")
    assert not [t for t in asyncio.all_tasks() if "deliver_confirmations" in repr(t)]
    payment_id = ledger_entries(ledger)["o-1"].payment_id
    assert publisher.published == []

    async with serving(create_app(Settings(), dapr, CountingProvider(ledger))) as client:
        await eventually(lambda: _paid(client), "the confirmation delivered after the restart")
        record = (await client.get("/payments/o-1")).json()

    assert record["payment_id"] == payment_id  # the same payment, not a second one
    assert [topic for topic, _, _ in publisher.published] == [PAYMENT_SUCCEEDED_TOPIC]


async def test_the_confirm_delay_comes_from_settings(
    state: InMemoryStateStore, publisher: InMemoryPublisher
) -> None:
    # No provider given: the simulator the app builds, in the app's state store.
    secrets = InMemorySecretStore({"payments-webhook-secret": WEBHOOK_SECRET})
    dapr = fake_dapr(state=state, publisher=publisher, secrets=secrets)
    app = create_app(Settings(provider_confirm_delay_ms=10), dapr)
    async with serving(app) as client:
        await client.post("/charges", json=charge_request("o-1", token=CONFIRMED_LATER_CARD))
        await eventually(lambda: _paid(client), "the provider's confirmation applied")
    assert [topic for topic, _, _ in publisher.published] == [PAYMENT_SUCCEEDED_TOPIC]


def test_default_confirm_delay() -> None:
    assert Settings().provider_confirm_delay_ms == 1500
