"""HTTP routes: thin, translating between HTTP and the use cases."""

import hmac
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Request, Response, status
from shop_dapr import ETagMismatch

from catalog.domain import Product, ProductFields, ProductId
from catalog.service import CatalogService, ProductNotFound

router = APIRouter()


def get_service(request: Request) -> CatalogService:
    service: CatalogService = request.app.state.service
    return service


def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    expected: str = request.app.state.admin_token
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "catalog writes need 'Authorization: Bearer <admin token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


ServiceDep = Annotated[CatalogService, Depends(get_service)]
AdminOnly = Depends(require_admin)
ProductIdPath = Annotated[ProductId, Path(description="lower-case letters, digits and '-'")]
IfMatch = Annotated[str | None, Header(description="ETag from a previous read")]


def _not_found(product_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"product '{product_id}' not found")


def _stale(product_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_412_PRECONDITION_FAILED,
        f"product '{product_id}' changed since it was read (If-Match does not match): "
        "read it again and retry",
    )


@router.get("/products/{product_id}")
async def get_product(
    product_id: ProductIdPath, service: ServiceDep, response: Response
) -> Product:
    try:
        product, etag = await service.get(product_id)
    except ProductNotFound:
        raise _not_found(product_id) from None
    response.headers["ETag"] = etag
    return product


@router.put("/products/{product_id}", dependencies=[AdminOnly])
async def put_product(
    product_id: ProductIdPath,
    fields: ProductFields,
    service: ServiceDep,
    response: Response,
    if_match: IfMatch = None,
) -> Product:
    try:
        product, etag = await service.put(Product(id=product_id, **fields.model_dump()), if_match)
    except ETagMismatch:
        raise _stale(product_id) from None
    response.headers["ETag"] = etag
    return product


@router.post("/products:batch", dependencies=[AdminOnly], status_code=status.HTTP_204_NO_CONTENT)
async def put_products(
    products: Annotated[list[Product], Body(min_length=1, max_length=100)], service: ServiceDep
) -> None:
    """Create or replace several products at once: all of them, or none."""
    ids = [p.id for p in products]
    if len(set(ids)) != len(ids):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "product ids must be unique")
    await service.put_many(products)


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
