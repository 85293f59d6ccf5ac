"""The public API, versioned under /api/v1: the only door clients use. Routes check
what they can at the edge, then forward to the owning service by app id."""

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Form, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from shop_contracts.common import USER_EMAIL_HEADER, USER_ID_HEADER, OrderId, ProductId, Quantity
from shop_dapr.app import provided
from shop_dapr.invoke import Invoker

from gateway.auth import CurrentUser
from gateway.service import CatalogReader, order_with_payment
from gateway.settings import Settings

router = APIRouter(prefix="/api/v1")

InvokerDep = Annotated[Invoker, Depends(provided(Invoker))]
CatalogDep = Annotated[CatalogReader, Depends(provided(CatalogReader))]
SettingsDep = Annotated[Settings, Depends(provided(Settings))]
ProductIdPath = Annotated[ProductId, Path()]


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    password: str = Field(min_length=10, max_length=128)
    name: str = Field(min_length=1, max_length=100)


class CartItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Quantity


class Checkout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_token: str = Field(
        pattern=r"^[0-9]{12,19}$",
        description="payment token; the simulated provider takes test card numbers "
        "(4242424242424242 pays, 4000000000000002 is declined)",
    )


def relay(response: httpx.Response) -> Response:
    """The service's answer as the client's: status and JSON body unchanged."""
    if response.status_code == 204:
        return Response(status_code=204)
    return Response(response.content, response.status_code, media_type="application/json")


def user_headers(user: CurrentUser) -> dict[str, str]:
    # Built from the verified token only: a client cannot choose who it is.
    return {USER_ID_HEADER: user.user_id, USER_EMAIL_HEADER: user.email}


# --- identity -------------------------------------------------------------------------


@router.post("/auth/register", status_code=201, tags=["identity"])
async def register(body: Registration, invoker: InvokerDep, settings: SettingsDep) -> Response:
    return relay(
        await invoker.request(settings.identity_app_id, "POST", "/register", json=body.model_dump())
    )


@router.post("/auth/token", tags=["identity"])
async def token(
    username: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=128)],
    invoker: InvokerDep,
    settings: SettingsDep,
    grant_type: Annotated[str, Form(pattern="^password$")] = "password",
) -> Response:
    """OAuth2 password flow: `username` is the e-mail address."""
    form = httpx.QueryParams({"grant_type": grant_type, "username": username, "password": password})
    response = await invoker.request(
        settings.identity_app_id,
        "POST",
        "/token",
        content=str(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    relayed = relay(response)
    if response.status_code == 401:
        relayed.headers["WWW-Authenticate"] = "Bearer"
    return relayed


@router.get("/me", tags=["identity"])
async def me(user: CurrentUser, invoker: InvokerDep, settings: SettingsDep) -> Response:
    return relay(
        await invoker.request(
            settings.identity_app_id, "GET", "/users/me", headers=user_headers(user)
        )
    )


# --- catalog --------------------------------------------------------------------------


# Cached until the product changes (gateway.service.CatalogReader): `X-Cache` says whether
# the answer came from the cache; `Cache-Control: no-cache` asks the catalog itself.


@router.get("/products", tags=["catalog"])
async def list_products(request: Request, catalog: CatalogDep) -> Response:
    """Filters: `q` (words), `category`, `min_price_cents`, `max_price_cents`,
    `sort` (name | price | -price), `page`, `page_size` (<= 100)."""
    query = str(request.query_params)
    return cached(*await catalog.page("/products", query, fresh=no_cache(request)))


@router.get("/categories", tags=["catalog"])
async def categories(request: Request, catalog: CatalogDep) -> Response:
    return cached(*await catalog.page("/categories", fresh=no_cache(request)))


@router.get("/products/{product_id}", tags=["catalog"])
async def get_product(product_id: ProductIdPath, request: Request, catalog: CatalogDep) -> Response:
    return cached(*await catalog.product(product_id, fresh=no_cache(request)))


def no_cache(request: Request) -> bool:
    return "no-cache" in request.headers.get("cache-control", "")


def cached(answer: httpx.Response, hit: bool) -> Response:
    relayed = relay(answer)
    relayed.headers["X-Cache"] = "hit" if hit else "miss"
    return relayed


# --- cart -----------------------------------------------------------------------------


@router.get("/cart", tags=["cart"])
async def get_cart(user: CurrentUser, invoker: InvokerDep, settings: SettingsDep) -> Response:
    return relay(await invoker.request(settings.cart_app_id, "GET", f"/carts/{user.user_id}"))


@router.put("/cart/items/{product_id}", tags=["cart"])
async def set_cart_item(
    product_id: ProductIdPath,
    body: CartItem,
    user: CurrentUser,
    invoker: InvokerDep,
    settings: SettingsDep,
) -> Response:
    """Set how many of a product the cart holds."""
    path = f"/carts/{user.user_id}/items/{product_id}"
    return relay(await invoker.request(settings.cart_app_id, "PUT", path, json=body.model_dump()))


@router.delete("/cart/items/{product_id}", status_code=204, tags=["cart"])
async def remove_cart_item(
    product_id: ProductIdPath, user: CurrentUser, invoker: InvokerDep, settings: SettingsDep
) -> Response:
    path = f"/carts/{user.user_id}/items/{product_id}"
    return relay(await invoker.request(settings.cart_app_id, "DELETE", path))


# --- orders ---------------------------------------------------------------------------


@router.post("/orders", status_code=201, tags=["orders"])
async def checkout(
    body: Checkout,
    user: CurrentUser,
    invoker: InvokerDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=100)] = None,
) -> Response:
    """Order everything in the cart. Send an `Idempotency-Key` to make retries safe:
    the same key returns the same order (200) instead of placing a second one."""
    headers = user_headers(user) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
    return relay(
        await invoker.request(
            settings.orders_app_id, "POST", "/orders", json=body.model_dump(), headers=headers
        )
    )


# What orders answers for an order (services/orders/domain.py Order), shown in the
# OpenAPI document: the statuses go pending -> paid -> shipped -> delivered, or pending ->
# cancelled; `shipment` is null until shipped.
ORDER_EXAMPLE: dict[str, Any] = {
    "order_id": "5277557e8f0b4c2a9d1e6f3a2b7c8d90",
    "user_id": "1d4bfc1b6a0e4f7c8b2d3e5f6a7b8c9d",
    "email": "ada@example.com",
    "status": "shipped",
    "lines": [
        {
            "product_id": "teapot",
            "name": "Cast iron teapot",
            "quantity": 1,
            "unit_price_cents": 4900,
        }
    ],
    "total_cents": 4900,
    "currency": "EUR",
    "card_last4": "4242",
    "payment_id": "pay_3f2a1b0c",
    "reason": None,
    "shipment": {
        "tracking_number": "SHP-4F2A9C01B3D7",
        "carrier": "Parcelwise",
        "shipped_at": "2026-01-05T10:00:00Z",
        "delivered_at": None,
    },
    "created_at": "2026-01-05T09:58:12Z",
    "updated_at": "2026-01-05T10:00:01Z",
}
ORDER_PAGE_EXAMPLE: dict[str, Any] = {
    **ORDER_EXAMPLE,
    "payment": {
        "order_id": ORDER_EXAMPLE["order_id"],
        "status": "succeeded",
        "amount_cents": 4900,
        "currency": "EUR",
        "payment_id": "pay_3f2a1b0c",
    },
}


def _example(description: str, example: object) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": description, "content": {"application/json": {"example": example}}}
    }


@router.get(
    "/orders",
    tags=["orders"],
    responses=_example("The caller's orders, newest first", [ORDER_EXAMPLE]),
)
async def orders(user: CurrentUser, invoker: InvokerDep, settings: SettingsDep) -> Response:
    """The caller's orders, newest first, each with its status (pending, paid,
    cancelled, shipped, delivered) and its shipment (null until shipped)."""
    return relay(
        await invoker.request(settings.orders_app_id, "GET", "/orders", headers=user_headers(user))
    )


@router.get(
    "/orders/{order_id}",
    tags=["orders"],
    responses=_example("The order with its payment", ORDER_PAGE_EXAMPLE),
)
async def order(
    order_id: Annotated[OrderId, Path()],
    user: CurrentUser,
    invoker: InvokerDep,
    settings: SettingsDep,
) -> JSONResponse:
    """The order with its payment (null until payments has seen it). Once shipped,
    `shipment` carries the carrier's tracking number, and `delivered_at` once delivered."""
    code, body = await order_with_payment(
        invoker, settings.orders_app_id, settings.payments_app_id, order_id, user_headers(user)
    )
    return JSONResponse(body, code)


# --- payments -------------------------------------------------------------------------


@router.post("/webhooks/payment-provider", tags=["payments"])
async def payment_provider_webhook(
    request: Request,
    invoker: InvokerDep,
    settings: SettingsDep,
    provider_signature: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """Callbacks from the payment provider. No user token: payments verifies the
    `Provider-Signature` over the exact bytes, so they are relayed untouched."""
    headers = {"Content-Type": request.headers.get("content-type", "application/json")}
    if provider_signature is not None:
        headers["Provider-Signature"] = provider_signature
    return relay(
        await invoker.request(
            settings.payments_app_id,
            "POST",
            "/webhooks/provider",
            content=await request.body(),
            headers=headers,
        )
    )
