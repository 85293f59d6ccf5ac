"""An unreachable sidecar, component or app is a 503 that says so, not an opaque 500."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shop_dapr.invoke import Unavailable
from shop_dapr.sidecar import BuildingBlockError

log = logging.getLogger(__name__)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    reason = str(exc)
    log.warning(
        "%s %s: a Dapr building block or peer failed: %s (%r)",
        request.method,
        request.url.path,
        reason,
        exc.__cause__,
    )
    detail = f"a backing service is unavailable, retry shortly: {reason or type(exc).__name__}"
    return JSONResponse(
        {"detail": detail},
        status_code=503,
        headers={"Retry-After": "1"},
    )


def answer_outages_with_503(app: FastAPI) -> None:
    for error in (BuildingBlockError, TimeoutError, Unavailable):
        app.add_exception_handler(error, _unavailable)
