"""The storefront (storefront/, built into storefront/dist by `make storefront`): its
pages at their own paths, its assets under content-hashed names. Served by the gateway
so that the pages, /api/v1 and /ws/orders share one origin and one public entry."""

import logging
import os
from os import PathLike
from pathlib import Path

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

log = logging.getLogger(__name__)

# The storefront's own routes (storefront/src/app.tsx): each answers its page, which then
# shows what the address names. Other paths stay the API's 404s.
PAGES = ("/", "/products/{rest:path}", "/signin", "/signup", "/cart", "/checkout", "/orders",
         "/orders/{rest:path}")  # fmt: skip
PAGE_HEADERS = {
    # The page is small and names its assets by hash: always asked again, never stale.
    "Cache-Control": "no-cache",
    # Everything comes from this origin; no inline script or style (Vite emits none).
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
NOT_BUILT = (
    "the storefront is not built: run `make storefront` (npm ci and npm run build in storefront/)"
)


class Assets(StaticFiles):
    """Files whose names change with their content: cached for a year."""

    def file_response(
        self, full_path: PathLike[str] | str, stat_result: os.stat_result, scope: Scope,
        status_code: int = 200,
    ) -> Response:  # fmt: skip
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def serve_storefront(app: FastAPI, dist: Path) -> None:
    """The pages and assets of the storefront built into `dist`; when it is not built,
    its pages answer 503 saying how to build it (the API works without it)."""
    index = dist / "index.html"
    if not index.is_file():
        log.warning("%s (looked in %s)", NOT_BUILT, dist.resolve())
    # check_dir=False: a storefront built after the gateway started is served as well.
    app.mount("/assets", Assets(directory=dist / "assets", check_dir=False), name="assets")

    router = APIRouter(include_in_schema=False)

    async def storefront_page() -> Response:
        # Read each time (under a kilobyte, from the page cache): a rebuild, which renames
        # the assets, shows at the next page load without restarting the gateway.
        try:
            page = index.read_bytes()
        except FileNotFoundError:
            return JSONResponse({"detail": NOT_BUILT}, 503)
        return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    for path in PAGES:
        router.add_api_route(path, storefront_page, methods=["GET", "HEAD"])
    app.include_router(router)
