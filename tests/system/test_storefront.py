"""The storefront in a real browser (Debian's chromium, driven by Playwright) against the
real shop beside its sidecars: what a person does, found by what a person sees (roles,
labels, words), with axe-core on every page.

SHOP_SCREENSHOTS=<folder> keeps the journey's screenshots there (the README's come from
`SHOP_SCREENSHOTS=docs/img make test-system`)."""

import json
import os
import re
import secrets as tokens
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import AXE, chromium, require_storefront, serious_violations
from tests.chaos.kills import wait_service_ready
from tests.system.launcher import Sidecar
from tests.system.shopper import Shopper, admin_put_product

pytestmark = pytest.mark.system

# Playwright's waits: a checkout settles in well under a second here, a cold page in one.
WAIT_MS = 20_000
# A paid order is shipped seconds later (launcher.QUICK_CARRIER): a test that only needs
# it paid accepts what comes after.
PAID_OR_LATER = re.compile(r"^(paid|shipped|delivered)$")
TRACKED_ON_ITS_WAY = re.compile(r"^On its way — tracking SHP-[0-9A-F]{12} \(Parcelwise\)$")
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_storefront()
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, gateway: Sidecar) -> Iterator[Page]:
    context = browser.new_context(base_url=gateway.app_url, viewport={"width": 1200, "height": 800})
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(path=str(AXE))
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # What the Content-Security-Policy blocked, which would be a page that half works.
    opened.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    context.close()
    assert not errors, f"the page threw or was refused: {errors}"


@pytest.fixture
def admin(catalog: Sidecar, secrets: dict[str, str]) -> Any:
    def put(product_id: str, **fields: Any) -> None:
        admin_put_product(catalog, secrets["catalog-admin-token"], product_id, **fields)

    return put


def accessible(page: Page, what: str) -> None:
    found = serious_violations(page)
    assert not found, f"axe-core on the {what} page:\n" + "\n".join(found)


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("SHOP_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"storefront-{name}.png"))


def sign_in(page: Page, shopper: Shopper) -> None:
    page.goto("/signin")
    page.get_by_label("E-mail address").fill(shopper.email)
    page.get_by_label("Password").fill(shopper.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def add_from_product_page(page: Page, product_id: str, name: str) -> None:
    page.goto(f"/products/{product_id}")
    page.get_by_role("button", name=f"Add to cart: {name}").click()
    expect(page.get_by_role("status").filter(has_text=f"Added {name}")).to_be_attached()


def pay(page: Page, card: str) -> str:
    """Check out with `card` from the checkout page; the new order's id."""
    page.get_by_label("Card number").fill(card)
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    page.wait_for_url(re.compile(r"/orders/[0-9a-f]+$"))
    return page.url.rsplit("/", 1)[1]


def order_status(page: Page) -> Any:
    return expect(page.get_by_test_id("order-status"))


def test_a_whole_journey(page: Page, admin: Any) -> None:
    """Sign up, search, add two products, change a quantity, check out, see `paid`
    arrive over the WebSocket without a reload, find the order in the history."""
    word = f"j{tokens.token_hex(3)}"
    # Their own category: other tests read the seed's kitchen, sorted by price.
    admin(f"{word}-kettle", name=f"Kettle {word}", category="tea", price_cents=3900,
          stock=5, description="Whistles when the water boils.")  # fmt: skip
    admin(f"{word}-cups", name=f"Tea cups {word}", category="tea", price_cents=1800,
          stock=10, description="A pair of porcelain cups.")  # fmt: skip
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(str(frame))))

    page.goto("/?category=kitchen")
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.get_by_role("listitem").first).to_be_visible()
    accessible(page, "catalog")
    screenshot(page, "catalog")

    page.get_by_role("link", name="Sign in").click()
    accessible(page, "sign-in")
    page.get_by_role("link", name="Create an account").click()
    accessible(page, "sign-up")
    email = f"journey-{word}@example.com"
    page.get_by_label("Name").fill("Ada Journey")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text(email)).to_be_visible()

    page.get_by_label("Search products").fill(word)
    page.get_by_label("Search products").press("Enter")
    expect(page.get_by_text("2 products")).to_be_visible()
    page.get_by_role("button", name=f"Add to cart: Kettle {word}").click()
    expect(page.get_by_role("link", name="Cart, 1 item")).to_be_visible()
    page.get_by_role("button", name=f"Add to cart: Tea cups {word}").click()
    expect(page.get_by_role("link", name="Cart, 2 items")).to_be_visible()

    page.get_by_role("link", name=f"Kettle {word}").click()
    expect(page.get_by_role("heading", name=f"Kettle {word}")).to_be_visible()
    accessible(page, "product")

    page.get_by_role("link", name="Cart, 2 items").click()
    quantity = page.get_by_label(f"Quantity of Tea cups {word}")
    quantity.fill("3")
    quantity.press("Enter")
    expect(page.get_by_role("link", name="Cart, 4 items")).to_be_visible()
    expect(page.locator("tfoot")).to_contain_text("€93.00")  # 39.00 + 3 x 18.00, by the shop
    accessible(page, "cart")
    screenshot(page, "cart")

    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_text("To pay: €93.00")).to_be_visible()
    accessible(page, "checkout")
    # The 3-D Secure test card: the provider confirms a second and a half later, so the
    # page shows `pending` first and `paid` can only come live, over the WebSocket.
    card = "4000 0000 0000 3220"
    page.get_by_label("Card number").fill(card)
    screenshot(page, "checkout")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    order_id = pay(page, card)
    order_status(page).to_have_text("pending")
    order_status(page).to_have_text("paid")
    assert page.evaluate("window.sameDocument === true"), "the order page was reloaded"
    assert any(order_id in frame and '"paid"' in frame for frame in frames), (
        f"`paid` did not come over the WebSocket: {frames}"
    )
    expect(page.get_by_text("A receipt is on its way")).to_be_visible()
    accessible(page, "order")
    screenshot(page, "order")
    # Shipping (Go) ships it seconds later (launcher.QUICK_CARRIER): both steps come
    # live too, the tracking number with them.
    order_status(page).to_have_text("shipped", timeout=WAIT_MS)
    expect(page.get_by_text(TRACKED_ON_ITS_WAY)).to_be_visible()
    accessible(page, "shipped order")
    order_status(page).to_have_text("delivered", timeout=WAIT_MS)
    expect(page.get_by_text(re.compile(r"^Delivered — tracking SHP-"))).to_be_visible()
    assert page.evaluate("window.sameDocument === true"), "the order page was reloaded"
    for status in ("shipped", "delivered"):
        assert any(order_id in f and f'"{status}"' in f for f in frames), (
            f"`{status}` did not come over the WebSocket: {frames}"
        )

    page.get_by_role("link", name="Orders", exact=True).click()
    row = page.get_by_role("row").filter(has_text=f"Order {order_id[:8]}")
    expect(row).to_contain_text("delivered")
    expect(row).to_contain_text("€93.00")
    accessible(page, "order history")


def test_paging_through_a_category(page: Page, admin: Any) -> None:
    category = f"page-{tokens.token_hex(3)}"
    for n in range(14):  # a page holds 12
        admin(f"{category}-{n:02}", name=f"Plate {n:02} {category}", category=category)
    page.goto(f"/?category={category}")
    expect(page.get_by_text("14 products")).to_be_visible()
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    expect(page.get_by_role("listitem")).to_have_count(12)
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.get_by_role("listitem")).to_have_count(2)
    assert page.url.endswith(f"?category={category}&page=2"), page.url
    page.go_back()
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    page.goto("/products/no-such-product")
    expect(page.get_by_role("alert")).to_contain_text("Product 'no-such-product' not found.")
    accessible(page, "product not found")


def test_a_declined_card_is_said_in_words(page: Page, gateway: Sidecar, admin: Any) -> None:
    product_id = f"declined-{tokens.token_hex(3)}"
    admin(product_id, name=f"Tray {product_id}", price_cents=2200)
    admin(f"{product_id}-x", name=f"Spare {product_id}", price_cents=900)
    sign_in(page, Shopper(gateway.app_url).register_and_log_in())
    add_from_product_page(page, product_id, f"Tray {product_id}")
    add_from_product_page(page, f"{product_id}-x", f"Spare {product_id}")
    page.goto("/cart")
    page.get_by_role("button", name=f"Remove Spare {product_id}").click()
    expect(page.get_by_role("link", name="Cart, 1 item")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=f"Spare {product_id}")).to_have_count(0)
    page.goto("/checkout")
    pay(page, "4000 0000 0000 0002")
    order_status(page).to_have_text("cancelled", timeout=WAIT_MS)
    expect(page.get_by_text("Your card was declined. Nothing was charged")).to_be_visible()


def test_an_item_that_sells_out_before_checkout(page: Page, gateway: Sidecar, admin: Any) -> None:
    product_id = f"last-{tokens.token_hex(3)}"
    admin(product_id, name=f"Last vase {product_id}", price_cents=5000, stock=1)
    sign_in(page, Shopper(gateway.app_url).register_and_log_in())
    add_from_product_page(page, product_id, f"Last vase {product_id}")
    page.goto("/checkout")
    expect(page.get_by_label("Card number")).to_be_visible()

    rival = Shopper(gateway.app_url).register_and_log_in()
    assert rival.put_in_cart(product_id, 1).status_code == 200
    assert rival.check_out().status_code == 201

    page.get_by_label("Card number").fill("4242424242424242")
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"Only 0 of product '{product_id}' available")
    expect(alert.get_by_role("link", name="Review your cart")).to_be_visible()
    assert page.url.endswith("/checkout"), page.url


def test_an_expired_session_asks_to_sign_in_again(
    page: Page, gateway: Sidecar, secrets: dict[str, str]
) -> None:
    shopper = Shopper(gateway.app_url).register_and_log_in()
    sign_in(page, shopper)
    # The token as identity would have issued it a while ago: signed, and expired.
    claims = jwt.decode(shopper.token, options={"verify_signature": False})
    expired = jwt.encode(
        claims | {"exp": int(time.time()) - 60},
        secrets["identity-jwt-signing-key"],
        "EdDSA",
        jwt.get_unverified_header(shopper.token),
    )
    stored = json.loads(page.evaluate("localStorage.getItem('shop.session')"))
    page.evaluate(
        "session => localStorage.setItem('shop.session', session)",
        json.dumps(stored | {"token": expired}),
    )
    page.goto("/cart")
    page.wait_for_url(re.compile(r"/signin\?next=%2Fcart$"))
    expect(page.get_by_role("alert")).to_have_text(
        "Your session has expired. Please sign in again."
    )
    page.get_by_label("E-mail address").fill(shopper.email)
    page.get_by_label("Password").fill(shopper.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/cart$"))
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()


def tab_to(page: Page, target: Any, key: str = "Tab", presses: int = 60) -> None:
    """Press Tab (or `key`) until `target` has the focus, as a keyboard user would."""
    for _ in range(presses):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{target} is not reachable with {key} within {presses} presses")


def test_the_whole_checkout_with_the_keyboard_alone(
    page: Page, gateway: Sidecar, admin: Any
) -> None:
    product_id = f"keys-{tokens.token_hex(3)}"
    admin(product_id, name=f"Bowl {product_id}", price_cents=1400)
    shopper = Shopper(gateway.app_url).register_and_log_in()

    page.goto("/")
    tab_to(page, page.get_by_role("link", name="Sign in"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_label("E-mail address"))
    page.keyboard.type(shopper.email)
    page.keyboard.press("Tab")
    page.keyboard.type(shopper.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    tab_to(page, page.get_by_label("Search products"))
    page.keyboard.type(product_id)
    page.keyboard.press("Enter")
    expect(page.get_by_text("1 product", exact=True)).to_be_visible()
    tab_to(page, page.get_by_role("button", name=f"Add to cart: Bowl {product_id}"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Cart, 1 item")).to_be_visible()
    # Back up to the header's cart link.
    tab_to(page, page.get_by_role("link", name="Cart, 1 item"), key="Shift+Tab")
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("link", name="Check out"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_label("Card number"))
    page.keyboard.type("4242424242424242")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/orders/[0-9a-f]+$"))
    order_status(page).to_have_text(PAID_OR_LATER, timeout=WAIT_MS)


def test_a_shop_that_does_not_answer_is_said_in_words(page: Page, gateway: Sidecar) -> None:
    page.goto("/")
    expect(page.get_by_role("listitem").first).to_be_visible()
    gateway.kill("app")
    try:
        page.get_by_label("Search products").fill("tea")
        page.get_by_label("Search products").press("Enter")
        expect(page.get_by_role("alert")).to_have_text(
            "The shop is unavailable right now. Nothing was changed: please try again in a moment."
        )
    finally:
        gateway.restart("app")
        wait_service_ready(gateway)
