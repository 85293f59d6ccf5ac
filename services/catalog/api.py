"""HTTP routes: thin, translating between HTTP and the use cases."""

import hmac
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import (
    APIRouter,
    Body,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Response,
    status,
)
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from shop_contracts.catalog import (
    LookupRequest,
    LookupResponse,
    ProductQuery,
    ReserveRefused,
    ReserveRequest,
)
from shop_contracts.common import OrderId, ProductId
from shop_dapr import ETagMismatch
from shop_dapr.app import provided

from catalog.domain import (
    InsufficientStock,
    ProductFields,
    ProductView,
    StockBelowReserved,
)
from catalog.service import CatalogService, ProductNotFound, ReservationConflict

router = APIRouter()


@dataclass(frozen=True)
class AdminToken:
    """The bearer token catalog writes need (from the secret store)."""

    value: str = field(repr=False)  # kept out of logs and tracebacks


async def require_admin(
    admin: Annotated[AdminToken, Depends(provided(AdminToken))],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), admin.value.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "catalog writes need 'Authorization: Bearer <admin token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


ServiceDep = Annotated[CatalogService, Depends(provided(CatalogService))]
AdminOnly = Depends(require_admin)
ProductIdPath = Annotated[ProductId, Path(description="lower-case letters, digits and '-'")]
IfMatch = Annotated[str | None, Header(description="ETag from a previous read")]


class ProductPage(BaseModel):
    items: list[ProductView]
    page: int
    page_size: int
    total: int


def _not_found(product_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"product '{product_id}' not found")


def _stale(product_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_412_PRECONDITION_FAILED,
        f"product '{product_id}' changed since it was read (If-Match does not match): "
        "read it again and retry",
    )


@router.get("/products")
async def list_products(
    service: ServiceDep, query: Annotated[ProductQuery, Query()]
) -> ProductPage:
    items, total = await service.browse(query)
    return ProductPage(items=items, page=query.page, page_size=query.page_size, total=total)


@router.get("/categories")
async def list_categories(service: ServiceDep) -> dict[str, int]:
    """Category name -> number of products."""
    return service.categories()


@router.get("/products/{product_id}")
async def get_product(
    product_id: ProductIdPath, service: ServiceDep, response: Response
) -> ProductView:
    try:
        product, etag = await service.get(product_id)
    except ProductNotFound:
        raise _not_found(product_id) from None
    response.headers["ETag"] = etag
    return ProductView.of(product)


@router.post("/products:lookup")
async def lookup_products(
    request: Annotated[LookupRequest, Body()], service: ServiceDep
) -> LookupResponse:
    """Prices and availability of several products at once (for cart and orders)."""
    if len(request.ids) > 100:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "at most 100 ids per lookup")
    products, missing = await service.lookup(request.ids)
    return LookupResponse(products=products, missing=missing)


@router.put("/products/{product_id}", dependencies=[AdminOnly])
async def put_product(
    product_id: ProductIdPath,
    fields: ProductFields,
    service: ServiceDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProductView:
    try:
        product, etag = await service.put(product_id, fields, if_match)
    except ETagMismatch:
        raise _stale(product_id) from None
    except StockBelowReserved as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    response.headers["ETag"] = etag
    return ProductView.of(product)


@router.delete(
    "/products/{product_id}", dependencies=[AdminOnly], status_code=status.HTTP_204_NO_CONTENT
)
async def delete_product(
    product_id: ProductIdPath, service: ServiceDep, if_match: IfMatch = None
) -> None:
    try:
        await service.delete(product_id, if_match)
    except ETagMismatch:
        raise _stale(product_id) from None


OrderIdPath = Annotated[OrderId, Path(description="letters, digits, '_' and '-'")]


# One path for holding and releasing: daprd's access control matches an operation
# like /reservations before /reservations/* and would refuse the release
# (docs/dapr-traps.md#acl-prefix).
@router.put(
    "/reservations/{order_id}",
    response_model=None,
    responses={409: {"model": ReserveRefused, "description": "not enough stock"}},
)
async def reserve(
    order_id: OrderIdPath, request: ReserveRequest, service: ServiceDep
) -> dict[str, str] | JSONResponse:
    """Hold stock for an order: every item or none. Idempotent per order id."""
    if not request.items or len({i.product_id for i in request.items}) != len(request.items):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "items must be non-empty with unique product ids"
        )
    try:
        await service.reserve(order_id, request.items)
    except InsufficientStock as exc:
        refused = ReserveRefused(
            detail=str(exc), product_id=exc.product_id, available=exc.available
        )
        return JSONResponse(refused.model_dump(), status_code=status.HTTP_409_CONFLICT)
    except ProductNotFound as exc:
        raise _not_found(str(exc)) from None
    except ReservationConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return {"order_id": order_id, "status": "held"}


@router.delete("/reservations/{order_id}", status_code=status.HTTP_204_NO_CONTENT)
async def release(order_id: OrderIdPath, service: ServiceDep) -> None:
    """Give an order's units back. Idempotent."""
    await service.release(order_id)
