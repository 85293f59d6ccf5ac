"""The public API, versioned under /api/v1: the only door clients use. Routes check
what they can at the edge, then forward to the owning service by app id."""

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Form, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from shop_contracts.cart import Cart, SetQuantity
from shop_contracts.catalog import ProductQuery
from shop_contracts.common import USER_EMAIL_HEADER, USER_ID_HEADER, OrderId, ProductId
from shop_contracts.identity import Profile, Registration, TokenResponse
from shop_contracts.orders import CheckoutRequest, IdempotencyKey
from shop_dapr.app import provided
from shop_dapr.errors import error_answer
from shop_dapr.invoke import Invoker

from gateway.auth import CurrentUser
from gateway.openapi import (
    CATEGORIES_EXAMPLE,
    NEWEST_ORDER_LINK,
    ORDER_EXAMPLE,
    ORDER_LINK,
    ORDER_PAGE_EXAMPLE,
    PLACED_ORDER_EXAMPLE,
    PRODUCT_EXAMPLE,
    PRODUCT_PAGE_EXAMPLE,
    X_CACHE,
    errors,
    example,
)
from gateway.service import CatalogReader, order_with_payment
from gateway.settings import Settings

# Each operation's id is its function's name (`place_order`, `get_order`): what client
# generators name their methods after.
router = APIRouter(prefix="/api/v1", generate_unique_id_function=lambda route: route.name)

InvokerDep = Annotated[Invoker, Depends(provided(Invoker))]
CatalogDep = Annotated[CatalogReader, Depends(provided(CatalogReader))]
SettingsDep = Annotated[Settings, Depends(provided(Settings))]
ProductIdPath = Annotated[ProductId, Path(examples=["teapot"])]


def relay(response: httpx.Response) -> Response:
    """The service's answer as the client's: status and JSON body unchanged. (A 5xx
    never gets here: the Invoker raises Unavailable, answered 503 with Retry-After.)"""
    if response.status_code == 204:
        return Response(status_code=204)
    return Response(response.content, response.status_code, media_type="application/json")


def user_headers(user: CurrentUser) -> dict[str, str]:
    # Built from the verified token only: a client cannot choose who it is.
    return {USER_ID_HEADER: user.user_id, USER_EMAIL_HEADER: user.email}


# --- identity -------------------------------------------------------------------------


@router.post(
    "/auth/register",
    status_code=201,
    tags=["identity"],
    response_model=None,
    responses={
        201: {"model": Profile, "description": "Registered: log in at /api/v1/auth/token"},
        **errors(409, body=True, why={409: "the address is already registered: log in"}),
    },
)
async def register(body: Registration, invoker: InvokerDep, settings: SettingsDep) -> Response:
    return relay(
        await invoker.request(settings.identity_app_id, "POST", "/register", json=body.model_dump())
    )


@router.post(
    "/auth/token",
    tags=["identity"],
    responses={
        200: {"model": TokenResponse, "description": "An access token for `Authorization: Bearer`"},
        **errors(401, body=True, why={401: "incorrect email or password"}),
    },
)
async def log_in(
    username: Annotated[str, Form(min_length=1, max_length=254)],
    password: Annotated[str, Form(min_length=1, max_length=128)],
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


@router.get(
    "/me",
    tags=["identity"],
    responses={
        200: {"model": Profile, "description": "The signed-in user"},
        **errors(401, 404, why={404: "the token's user no longer exists"}),
    },
)
async def get_profile(user: CurrentUser, invoker: InvokerDep, settings: SettingsDep) -> Response:
    return relay(
        await invoker.request(
            settings.identity_app_id, "GET", "/users/me", headers=user_headers(user)
        )
    )


# --- catalog --------------------------------------------------------------------------


# Cached until the product changes (gateway.service.CatalogReader): `X-Cache` says whether
# the answer came from the cache; `Cache-Control: no-cache` asks the catalog itself.


@router.get(
    "/products",
    tags=["catalog"],
    responses={**example(200, "A page of products", PRODUCT_PAGE_EXAMPLE, X_CACHE), **errors()},
)
async def list_products(
    request: Request, catalog: CatalogDep, _filters: Annotated[ProductQuery, Query()]
) -> Response:
    """Products matching the filters, a page at a time. The filters are checked here and
    forwarded as sent (the cache keys on them)."""
    query = str(request.query_params)
    return cached(*await catalog.page("/products", query, fresh=no_cache(request)))


@router.get(
    "/categories",
    tags=["catalog"],
    responses={
        **example(200, "Each category with its number of products", CATEGORIES_EXAMPLE, X_CACHE),
        **errors(),
    },
)
async def list_categories(request: Request, catalog: CatalogDep) -> Response:
    return cached(*await catalog.page("/categories", fresh=no_cache(request)))


@router.get(
    "/products/{product_id}",
    tags=["catalog"],
    responses={
        **example(200, "The product and how many are available", PRODUCT_EXAMPLE, X_CACHE),
        **errors(404, why={404: "no such product"}),
    },
)
async def get_product(product_id: ProductIdPath, request: Request, catalog: CatalogDep) -> Response:
    return cached(*await catalog.product(product_id, fresh=no_cache(request)))


def no_cache(request: Request) -> bool:
    return "no-cache" in request.headers.get("cache-control", "")


def cached(answer: httpx.Response, hit: bool) -> Response:
    relayed = relay(answer)
    relayed.headers["X-Cache"] = "hit" if hit else "miss"
    return relayed


# --- cart -----------------------------------------------------------------------------


CART_CONFLICTS = (
    "not that many in stock, more than 50 different products, a total beyond what one "
    "order can hold, or the cart changed concurrently many times: `detail` says which"
)


@router.get(
    "/cart",
    tags=["cart"],
    responses={
        200: {"model": Cart, "description": "The cart, priced from the catalog now"},
        **errors(401, 409, why={409: "the cart's total is beyond what one order can hold"}),
    },
)
async def get_cart(user: CurrentUser, invoker: InvokerDep, settings: SettingsDep) -> Response:
    return relay(await invoker.request(settings.cart_app_id, "GET", f"/carts/{user.user_id}"))


@router.put(
    "/cart/items/{product_id}",
    tags=["cart"],
    responses={
        200: {"model": Cart, "description": "The cart with the new quantity"},
        **errors(401, 404, 409, body=True, why={404: "no such product", 409: CART_CONFLICTS}),
    },
)
async def set_cart_item(
    product_id: ProductIdPath,
    body: SetQuantity,
    user: CurrentUser,
    invoker: InvokerDep,
    settings: SettingsDep,
) -> Response:
    """Set how many of a product the cart holds."""
    path = f"/carts/{user.user_id}/items/{product_id}"
    return relay(await invoker.request(settings.cart_app_id, "PUT", path, json=body.model_dump()))


@router.delete(
    "/cart/items/{product_id}",
    status_code=204,
    tags=["cart"],
    responses=errors(401, 409, why={409: "the cart changed concurrently many times: retry"}),
)
async def remove_cart_item(
    product_id: ProductIdPath, user: CurrentUser, invoker: InvokerDep, settings: SettingsDep
) -> Response:
    path = f"/carts/{user.user_id}/items/{product_id}"
    return relay(await invoker.request(settings.cart_app_id, "DELETE", path))


# --- orders ---------------------------------------------------------------------------


@router.post(
    "/orders",
    status_code=201,
    tags=["orders"],
    responses={
        **example(
            201, "Accepted: the order, pending until paid", PLACED_ORDER_EXAMPLE, links=ORDER_LINK
        ),
        **example(
            200,
            "The order an earlier request with this Idempotency-Key placed",
            ORDER_EXAMPLE,
            links=ORDER_LINK,
        ),
        **errors(
            401,
            409,
            body=True,
            why={
                409: "the cart is empty, a product is no longer sold or short of stock, or "
                "an earlier checkout with this Idempotency-Key failed: `detail` says which"
            },
        ),
    },
)
async def place_order(
    body: CheckoutRequest,
    user: CurrentUser,
    invoker: InvokerDep,
    settings: SettingsDep,
    idempotency_key: Annotated[IdempotencyKey | None, Header()] = None,
) -> Response:
    """Order everything in the cart. Send an `Idempotency-Key` to make retries safe:
    the same key returns the same order (200) instead of placing a second one."""
    headers = user_headers(user) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
    return relay(
        await invoker.request(
            settings.orders_app_id, "POST", "/orders", json=body.model_dump(), headers=headers
        )
    )


@router.get(
    "/orders",
    tags=["orders"],
    responses={
        **example(
            200, "The caller's orders, newest first", [ORDER_EXAMPLE], links=NEWEST_ORDER_LINK
        ),
        **errors(401),
    },
)
async def list_orders(user: CurrentUser, invoker: InvokerDep, settings: SettingsDep) -> Response:
    """The caller's orders, newest first, each with its status (pending, paid,
    cancelled, shipped, delivered) and its shipment (null until shipped)."""
    return relay(
        await invoker.request(settings.orders_app_id, "GET", "/orders", headers=user_headers(user))
    )


@router.get(
    "/orders/{order_id}",
    tags=["orders"],
    responses={
        **example(200, "The order with its payment", ORDER_PAGE_EXAMPLE),
        **errors(401, 404, why={404: "no such order of the caller's"}),
    },
)
async def get_order(
    order_id: Annotated[OrderId, Path()],
    user: CurrentUser,
    invoker: InvokerDep,
    settings: SettingsDep,
) -> Response:
    """The order with its payment (null until payments has seen it). Once shipped,
    `shipment` carries the carrier's tracking number, and `delivered_at` once delivered."""
    page = await order_with_payment(
        invoker, settings.orders_app_id, settings.payments_app_id, order_id, user_headers(user)
    )
    return relay(page) if isinstance(page, httpx.Response) else JSONResponse(page)


# --- payments -------------------------------------------------------------------------


@router.post(
    "/webhooks/payment-provider",
    tags=["payments"],
    responses={
        **example(200, "Taken: applied, a duplicate, or ignored", {"status": "applied"}),
        **errors(
            404,
            409,
            body=True,
            why={
                400: "signed, but not a valid provider event",
                404: "no charge for the event's order",
                409: "the event contradicts the charge record, or raced another change",
            },
        ),
        # Not the bearer scheme's 401: the provider signs each body instead.
        401: error_answer("missing, malformed, wrong or stale Provider-Signature"),
    },
)
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
