"""The shop end to end, through the gateway only, with every service beside a real
daprd on the profile under test: the same tests on every profile."""

import time
import uuid

import httpx
import jwt
import pytest

from tests.system.deadletters import dead_letters
from tests.system.launcher import Sidecar
from tests.system.shopper import (
    CONFIRMED_LATER,
    DECLINED,
    MOVES_ON,
    NEVER_CONFIRMED,
    Shopper,
    StatusFeed,
    admin_put_product,
    available,
    eventually,
    race,
)

pytestmark = pytest.mark.system


def test_browse_and_search(gateway: Sidecar) -> None:
    url = gateway.app_url
    categories = httpx.get(f"{url}/api/v1/categories", timeout=30).json()
    assert categories["kitchen"] >= 4
    found = httpx.get(f"{url}/api/v1/products", params={"q": "hot TEA"}, timeout=30).json()
    assert "teapot" in [p["id"] for p in found["items"]]
    for item in found["items"]:
        text = f"{item['name']} {item['description']}".lower()
        assert "hot" in text and "tea" in text
    page = httpx.get(
        f"{url}/api/v1/products",
        params={"category": "kitchen", "sort": "price", "page_size": 2},
        timeout=30,
    ).json()
    assert [p["id"] for p in page["items"]] == ["mug", "cutting-board"]
    teapot = httpx.get(f"{url}/api/v1/products/teapot", timeout=30).json()
    assert (teapot["name"], teapot["price_cents"], teapot["currency"]) == (
        "Cast iron teapot",
        4900,
        "EUR",
    )


def test_checkout_is_paid_receipted_and_pushed_live(
    checkout_style: str, shopper: Shopper, product: str, shop: dict[str, Sidecar], gateway: Sidecar
) -> None:
    assert shopper.put_in_cart(product, 2).status_code == 200
    cart = shopper.get("/api/v1/cart").json()
    assert (cart["total_cents"], [line["quantity"] for line in cart["lines"]]) == (2500, [2])

    feed = StatusFeed(shop["gateway"], shopper.token)
    try:
        placed = shopper.check_out()
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        assert placed.json()["status"] == "pending"

        paid = shopper.order_when(order_id, "paid")
        assert paid["total_cents"] == 2500
        assert paid["payment"]["status"] == "succeeded"
        assert paid["payment"]["amount_cents"] == 2500

        [receipt] = eventually(shopper.receipts, "the receipt e-mail at the SMTP sink")
        assert order_id in receipt["Subject"]
        assert "25.00 EUR" in receipt.get_content()

        try:
            # `paid` may overtake `pending` (two topics); then `pending` is never pushed.
            pushed = (["pending", "paid"], ["paid"])
            eventually(lambda: _until_paid(feed.statuses(order_id)) in pushed, "live pushes")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; pushed so far: {feed.messages}") from None
    finally:
        feed.close()

    # Each consumer of the events acts on its own time (a fresh Kafka consumer group
    # may still be joining): wait for the stock and the cart, do not assume them.
    eventually(lambda: available(gateway.app_url, product) == 3, "the stock to be committed")
    eventually(lambda: shopper.get("/api/v1/cart").json()["lines"] == [], "the cart to be emptied")
    history = shopper.get("/api/v1/orders").json()
    assert [o["order_id"] for o in history] == [order_id]


def _until_paid(statuses: list[str]) -> list[str]:
    """The statuses pushed up to `paid`; shipping's follow it (test_shipping.py)."""
    return statuses[: statuses.index("paid") + 1] if "paid" in statuses else statuses


def test_declined_card_cancels_and_gives_stock_back(
    checkout_style: str, shopper: Shopper, product: str, gateway: Sidecar, shop: dict[str, Sidecar]
) -> None:
    shopper.put_in_cart(product, 3)
    # Payments held back, so that the hold can be seen: a decline takes milliseconds.
    shop["payments"].pause_app()
    try:
        placed = shopper.check_out(card=DECLINED)
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        assert available(gateway.app_url, product) == 2  # held while payment runs
    finally:
        shop["payments"].resume_app()

    cancelled = shopper.order_when(order_id, "cancelled")
    assert cancelled["reason"] == "card_declined"
    assert cancelled["payment"]["status"] == "declined"
    assert cancelled["payment"]["amount_cents"] == 0  # no charge
    eventually(lambda: available(gateway.app_url, product) == 5, "the stock to come back")
    assert shopper.mails() == []


def test_a_charge_the_provider_confirms_later_is_paid_when_its_webhook_comes(
    checkout_style: str, shopper: Shopper, product: str, gateway: Sidecar
) -> None:
    shopper.put_in_cart(product, 1)
    placed = shopper.check_out(card=CONFIRMED_LATER)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    # Pending while the provider has not confirmed (its webhook comes after ~1.5 s).
    assert shopper.get(f"/api/v1/orders/{order_id}").json()["status"] == "pending"
    paid = shopper.order_when(order_id, "paid")
    assert (paid["payment"]["status"], paid["payment"]["amount_cents"]) == ("succeeded", 1250)
    eventually(lambda: available(gateway.app_url, product) == 4, "the stock to be committed")


def test_a_charge_never_confirmed_is_voided_and_the_order_cancelled(
    checkout_style: str, shopper: Shopper, product: str, gateway: Sidecar
) -> None:
    shopper.put_in_cart(product, 2)
    placed = shopper.check_out(card=NEVER_CONFIRMED)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    # The tests void after 4 s (conftest.APP_ENV); the choreography's sweeper looks
    # every 5 s at checkouts open for 15 s.
    cancelled = shopper.order_when(order_id, "cancelled", timeout=60)
    assert cancelled["reason"] == "confirmation_timeout"
    assert (cancelled["payment"]["status"], cancelled["payment"]["amount_cents"]) == ("declined", 0)
    eventually(lambda: available(gateway.app_url, product) == 5, "the stock to come back")
    assert shopper.mails() == []


def test_twenty_buyers_race_for_the_last_five(
    checkout_style: str, gateway: Sidecar, catalog: Sidecar, secrets: dict[str, str]
) -> None:
    product_id = f"race-{uuid.uuid4().hex[:10]}"
    admin_put_product(catalog, secrets["catalog-admin-token"], product_id, stock=5)

    answers = race(product_id, [gateway.app_url])

    assert sorted(a.status_code for _, a in answers) == [201] * 5 + [409] * 15
    for buyer, answer in answers:
        if answer.status_code == 201:
            buyer.order_when(answer.json()["order_id"], "paid")
        else:
            assert "available" in answer.json()["detail"]
    assert available(gateway.app_url, product_id) == 0


def test_same_idempotency_key_makes_one_order_and_one_charge(
    checkout_style: str, shopper: Shopper, product: str
) -> None:
    shopper.put_in_cart(product, 1)
    first = shopper.check_out(idempotency_key="retry-me")
    again = shopper.check_out(idempotency_key="retry-me")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["order_id"] == again.json()["order_id"]
    order = shopper.order_when(first.json()["order_id"], "paid")
    assert order["payment"]["amount_cents"] == 1250
    assert len(shopper.get("/api/v1/orders").json()) == 1


def test_a_redelivered_event_has_one_effect(
    checkout_style: str, shopper: Shopper, product: str, shop: dict[str, Sidecar], gateway: Sidecar
) -> None:
    shopper.put_in_cart(product, 1)
    order_id = shopper.check_out().json()["order_id"]
    paid = shopper.order_when(order_id, "paid")
    eventually(shopper.receipts, "the receipt")

    # order.created again, as a broker redelivery would bring it (a new envelope, the
    # same order): published through the orders sidecar, which may publish that topic.
    duplicate = {
        "order_id": order_id,
        "user_id": paid["user_id"],
        "email": shopper.email,
        "lines": paid["lines"],
        "total_cents": paid["total_cents"],
        "currency": "EUR",
        "payment_token": "4242424242424242",
        "created_at": paid["created_at"],
    }
    answer = shop["orders"].api.post(
        "/v1.0/publish/pubsub/orders.order-created", json=duplicate, timeout=30
    )
    assert answer.status_code == 204, answer.text
    time.sleep(5)  # time for the whole chain to react, if it were going to
    again = shopper.get(f"/api/v1/orders/{order_id}").json()
    assert again["status"] in ("paid", *MOVES_ON["paid"])
    assert again["payment"] == paid["payment"]
    assert len(shopper.receipts()) == 1
    assert available(gateway.app_url, product) == 4


def test_bad_input_gets_a_clear_4xx_and_writes_nothing(
    checkout_style: str, shopper: Shopper, product: str, gateway: Sidecar, secrets: dict[str, str]
) -> None:
    url = f"{gateway.app_url}/api/v1"
    auth = shopper.auth
    json_headers = {**auth, "Content-Type": "application/json"}
    cases = [
        (httpx.post(f"{url}/orders", content=b"{oops", headers=json_headers, timeout=30), 422),
        (
            httpx.put(
                f"{url}/cart/items/{product}", json={"quantity": "two"}, headers=auth, timeout=30
            ),
            422,
        ),
        (
            httpx.put(
                f"{url}/cart/items/{product}", json={"quantity": 0}, headers=auth, timeout=30
            ),
            422,
        ),
        (
            httpx.put(
                f"{url}/cart/items/{product}", json={"quantity": -1}, headers=auth, timeout=30
            ),
            422,
        ),
        (
            httpx.put(
                f"{url}/cart/items/no-such-thing", json={"quantity": 1}, headers=auth, timeout=30
            ),
            404,
        ),
        (
            httpx.post(
                f"{url}/orders", json={"payment_token": "x" * 100_000}, headers=auth, timeout=30
            ),
            413,
        ),
        (httpx.post(f"{url}/orders", json={"payment_token": "4242424242424242"}, timeout=30), 401),
        # Valid input that the empty cart refuses: a conflict, not invalid input.
        (
            httpx.post(
                f"{url}/orders",
                json={"payment_token": "4242424242424242"},
                headers=auth,
                timeout=30,
            ),
            409,
        ),
    ]
    for response, expected in cases:
        assert response.status_code == expected, (response.request.url, response.text)
        body = response.json()
        assert isinstance(body["detail"], str)
        assert ("errors" in body) == (expected == 422), body

    signing_key = secrets["identity-jwt-signing-key"]
    assert httpx.get(f"{url}/me", headers=auth, timeout=30).status_code == 200
    header = jwt.get_unverified_header(shopper.token)
    claims = jwt.decode(shopper.token, options={"verify_signature": False})
    expired = jwt.encode(claims | {"exp": int(time.time()) - 60}, signing_key, "EdDSA", header)
    forged = shopper.token[:-4] + ("AAAA" if not shopper.token.endswith("AAAA") else "BBBB")
    for token, reason in ((expired, "token expired"), (forged, "signature invalid")):
        answer = httpx.get(
            f"{url}/orders", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert answer.status_code == 401
        assert reason in answer.json()["detail"]

    webhook = httpx.post(
        f"{url}/webhooks/payment-provider",
        json={"type": "charge.refunded", "order_id": "x", "payment_id": "p", "amount_cents": 1},
        headers={"Provider-Signature": f"t={int(time.time())},v1={'0' * 64}"},
        timeout=30,
    )
    assert webhook.status_code == 401
    assert secrets["payments-webhook-secret"] not in webhook.text

    # Nothing was half-written: no order exists for this shopper.
    assert shopper.get("/api/v1/orders").json() == []


def test_poison_message_ends_in_the_dead_letter_topic(shop: dict[str, Sidecar]) -> None:
    """Every consumer of orders.order-created drops a message it cannot parse, and the
    sidecar moves it to that subscription's dead-letter topic instead of retrying."""
    poison = {"not": "an order", "marker": uuid.uuid4().hex}
    with dead_letters(shop["payments"], "orders.order-created.payments.dead-letter") as dead:
        answer = shop["orders"].api.post(
            "/v1.0/publish/pubsub/orders.order-created",
            json=poison,
            timeout=30,
        )
        assert answer.status_code == 204, answer.text
        eventually(lambda: poison in dead, "the poison message in the dead-letter topic")
