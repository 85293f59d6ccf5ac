"""What the public API documents besides its routes' parameters: every status each
operation can answer, errors with the one error body (shop_dapr.errors.ErrorBody) and the
headers that come with them, and examples of the main answers. The system tests run
Schemathesis against the running gateway with this document (tests/system/test_openapi.py):
a status, body or header it does not describe fails the build."""

from typing import Any

from shop_dapr.errors import error_answer

_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before asking again",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
_BEARER_CHALLENGE = {
    "WWW-Authenticate": {
        "description": "the scheme to authenticate with",
        "required": True,
        "schema": {"type": "string", "const": "Bearer"},
    }
}
X_CACHE = {
    "X-Cache": {
        "description": "`hit`: from the gateway's cache, evicted when the product changes; "
        "`miss`: from the catalog (send `Cache-Control: no-cache` to ask it)",
        "required": True,
        "schema": {"type": "string", "enum": ["hit", "miss"]},
    }
}

# Why each status is sent, unless an operation says more precisely.
_WHY: dict[int, str] = {
    400: "the body cannot be read: not the declared content type, or not UTF-8",
    401: "no bearer token, or one that does not verify (expired, forged, signed by an "
    "unknown key): log in at /api/v1/auth/token",
    404: "not found",
    409: "valid input that the current state refuses: `detail` says why",
    413: "the body is over the gateway's limit (MAX_BODY_BYTES, 64 KiB unless configured)",
    429: "too many requests from this client (each signed-in user, else each address, "
    "has its own budget): wait Retry-After seconds",
    503: "a service behind the gateway, its sidecar or one of its components is "
    "unavailable: ask again after Retry-After seconds (a checkout with the same "
    "Idempotency-Key, so that it is placed once)",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: _BEARER_CHALLENGE,
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}
# What the gateway itself may answer to any /api request: its rate limit, and an outage
# of what it forwards to. Requests with a body may also be unreadable or too large.
_EVERY_CALL = (429, 503)
_WITH_BODY = (400, 413)


def errors(
    *codes: int, body: bool = False, why: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The error answers of an operation: `codes`, those every call may get, and those of
    a request with a body (`body`). `why` replaces the usual reason of a status."""
    every = (*codes, *_EVERY_CALL, *(_WITH_BODY if body else ()))
    reasons = _WHY | (why or {})
    return {code: error_answer(reasons[code], _HEADERS.get(code)) for code in sorted(every)}


def example(
    code: int,
    description: str,
    value: object,
    headers: dict[str, Any] | None = None,
    links: dict[str, Any] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """A success answer with an example body, the headers it carries and the operations
    its body leads to (OpenAPI links)."""
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"example": value}},
    }
    if headers:
        answer["headers"] = headers
    if links:
        answer["links"] = links
    return {code: answer}


# A placed order leads to its page (api.get_order) by its id, and so does the newest of
# the caller's orders.
ORDER_LINK = {
    "GetOrder": {"operationId": "get_order", "parameters": {"order_id": "$response.body#/order_id"}}
}
NEWEST_ORDER_LINK = {
    "GetNewestOrder": {
        "operationId": "get_order",
        "parameters": {"order_id": "$response.body#/0/order_id"},
    }
}


PRODUCT_EXAMPLE: dict[str, Any] = {
    "id": "teapot",
    "name": "Cast iron teapot",
    "description": "Keeps tea hot for an hour.",
    "category": "kitchen",
    "price_cents": 4900,
    "currency": "EUR",
    "available": 12,
}
PRODUCT_PAGE_EXAMPLE: dict[str, Any] = {
    "items": [PRODUCT_EXAMPLE],
    "page": 1,
    "page_size": 20,
    "total": 1,
}
CATEGORIES_EXAMPLE = {"kitchen": 4, "tea": 2, "home": 3}

# What orders answers for an order (services/orders/domain.py Order): the statuses go
# pending -> paid -> shipped -> delivered, or pending -> cancelled; `shipment` is null
# until shipped.
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
PLACED_ORDER_EXAMPLE: dict[str, Any] = {
    **ORDER_EXAMPLE,
    "status": "pending",
    "payment_id": None,
    "shipment": None,
    "updated_at": ORDER_EXAMPLE["created_at"],
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
