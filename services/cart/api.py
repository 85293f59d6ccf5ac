"""HTTP routes, invoked by the gateway once it has verified the user's JWT: thin,
translating between HTTP and the use cases."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from shop_contracts.cart import Cart, SetQuantity
from shop_contracts.common import ProductId, UserId
from shop_dapr.app import provided
from shop_dapr.repository import TooMuchContention

from cart.domain import CartTooExpensive, NotEnoughStock, TooManyLines
from cart.service import CartService, ProductNotFound

router = APIRouter()

ServiceDep = Annotated[CartService, Depends(provided(CartService))]
UserIdPath = Annotated[UserId, Path(description="letters, digits, '_' and '-'")]
ProductIdPath = Annotated[ProductId, Path(description="lower-case letters, digits and '-'")]


@router.get("/carts/{user_id}")
async def get_cart(user_id: UserIdPath, service: ServiceDep) -> Cart:
    try:
        return await service.get(user_id)
    except CartTooExpensive as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.put("/carts/{user_id}/items/{product_id}")
async def set_item(
    user_id: UserIdPath, product_id: ProductIdPath, body: SetQuantity, service: ServiceDep
) -> Cart:
    try:
        return await service.set_quantity(user_id, product_id, body.quantity)
    except ProductNotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"product '{product_id}' not found"
        ) from None
    except NotEnoughStock as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except TooMuchContention:
        raise _contended() from None
    except (TooManyLines, CartTooExpensive) as exc:
        # Valid input that the cart as it stands cannot take (shop_dapr.errors): a 409.
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.delete("/carts/{user_id}/items/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_item(user_id: UserIdPath, product_id: ProductIdPath, service: ServiceDep) -> None:
    try:
        await service.remove(user_id, product_id)
    except TooMuchContention:
        raise _contended() from None


@router.delete("/carts/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def clear_cart(user_id: UserIdPath, service: ServiceDep) -> None:
    await service.clear(user_id)


def _contended() -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, "cart changed concurrently, retry")
