"""The public API, versioned under /api/v1."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status

from gateway.service import ProductNotFound, ProductReader, UpstreamUnavailable

router = APIRouter(prefix="/api/v1")


def get_products(request: Request) -> ProductReader:
    reader: ProductReader = request.app.state.products
    return reader


ProductsDep = Annotated[ProductReader, Depends(get_products)]


@router.get("/products/{product_id}")
async def get_product(
    product_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")],
    products: ProductsDep,
    response: Response,
) -> dict[str, Any]:
    try:
        product, cached = await products.get(product_id)
    except ProductNotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"product '{product_id}' not found"
        ) from None
    except UpstreamUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    response.headers["X-Cache"] = "hit" if cached else "miss"
    return product
