"""HTTP routes, invoked by the gateway once it has verified the user's JWT: thin,
translating between HTTP and the use cases."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict
from shop_contracts.cart import Cart
from shop_contracts.common import ProductId, Quantity, UserId

from cart.domain import CartTooExpensive, NotEnoughStock, TooManyLines
from cart.service import CartChangedConcurrently, CartService, CatalogUnavailable, ProductNotFound

router = APIRouter()


async def get_service(request: Request) -> CartService:
    service: CartService = request.app.state.service
    return service


ServiceDep = Annotated[CartService, Depends(get_service)]
UserIdPath = Annotated[UserId, Path(description="letters, digits, '_' and '-'")]
ProductIdPath = Annotated[ProductId, Path(description="lower-case letters, digits and '-'")]


class SetQuantity(BaseModel):
    # Strict: "2", 2.0 and true are not quantities.
    model_config = ConfigDict(extra="forbid", strict=True)

    quantity: Quantity


@router.get("/carts/{user_id}")
async def get_cart(user_id: UserIdPath, service: ServiceDep) -> Cart:
    try:
        return await service.get(user_id)
    except CatalogUnavailable as exc:
        raise _unavailable(exc) from None
    except CartTooExpensive as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


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
    except (NotEnoughStock, CartChangedConcurrently) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except (TooManyLines, CartTooExpensive) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except CatalogUnavailable as exc:
        raise _unavailable(exc) from None


@router.delete("/carts/{user_id}/items/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_item(user_id: UserIdPath, product_id: ProductIdPath, service: ServiceDep) -> None:
    try:
        await service.remove(user_id, product_id)
    except CartChangedConcurrently as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.delete("/carts/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def clear_cart(user_id: UserIdPath, service: ServiceDep) -> None:
    await service.clear(user_id)


def _unavailable(exc: CatalogUnavailable) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"cannot price the cart: {exc}")
