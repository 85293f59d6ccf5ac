"""HTTP routes. The gateway calls them after verifying the user's JWT and passes the
user in headers; only the gateway may invoke this service (dapr-config.yaml)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Response, status
from shop_contracts.common import USER_EMAIL_HEADER, USER_ID_HEADER, UserId
from shop_contracts.orders import CheckoutRequest, IdempotencyKey
from shop_dapr.app import provided

from orders.domain import Order
from orders.service import CheckoutRefused, OrderNotFound, OrdersService

router = APIRouter()


async def current_user(
    user_id: Annotated[UserId | None, Header(alias=USER_ID_HEADER)] = None,
    email: Annotated[str | None, Header(alias=USER_EMAIL_HEADER, max_length=254)] = None,
) -> tuple[str, str]:
    if not user_id or not email:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no authenticated user")
    return user_id, email


ServiceDep = Annotated[OrdersService, Depends(provided(OrdersService))]
UserDep = Annotated[tuple[str, str], Depends(current_user)]


@router.post("/orders", status_code=status.HTTP_201_CREATED)
async def checkout(
    body: CheckoutRequest,
    user: UserDep,
    service: ServiceDep,
    response: Response,
    idempotency_key: Annotated[IdempotencyKey | None, Header()] = None,
) -> Order:
    """Place an order for everything in the caller's cart. Sending the same
    Idempotency-Key again returns the same order (200) instead of a second one."""
    user_id, email = user
    try:
        order, created = await service.checkout(user_id, email, body.payment_token, idempotency_key)
    except CheckoutRefused as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    return order


@router.get("/orders")
async def order_history(user: UserDep, service: ServiceDep) -> list[Order]:
    """The caller's orders, newest first."""
    return await service.history(user[0])


@router.get("/orders/{order_id}")
async def get_order(
    order_id: Annotated[str, Path(pattern=r"^[a-zA-Z0-9_-]{1,64}$")],
    user: UserDep,
    service: ServiceDep,
) -> Order:
    try:
        return await service.get(user[0], order_id)
    except OrderNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"order '{order_id}' not found") from None
