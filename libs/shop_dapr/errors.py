"""One error model for every service, and the answers every service gives the same way.

Every error is `{"detail": "<what is wrong, in words>"}`; a 422 adds `errors`, one entry
an input that failed validation. 422 means the input does not match the documented
schema; input that matches it but that the current state refuses (an empty cart, too
little stock, an address already registered) is a 409. An unreachable sidecar, component
or app is a 503 that says so, with Retry-After, not an opaque 500. A 405 lists in Allow
every method its path takes (Starlette lists only those of the first route it tried)."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shop_dapr.invoke import Unavailable
from shop_dapr.sidecar import BuildingBlockError

log = logging.getLogger(__name__)

_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# At most this many failed inputs are spelled out in `detail`; `errors` has them all.
_SPELLED_OUT = 3


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="where: 'body', 'query', 'path' or 'header', then the field"
    )
    msg: str = Field(description="what is wrong with it")
    type: str = Field(description="pydantic's error type, stable for programs to match on")


class ErrorBody(BaseModel):
    """The body of every error answer."""

    detail: str = Field(description="what is wrong and, where it helps, what to do about it")
    errors: list[FieldError] = Field(
        default_factory=list, description="on 422: each input that failed validation"
    )


async def _invalid_input(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Never the `input` FastAPI would echo back: it may be a password.
    errors = [
        FieldError(loc=list(error["loc"]), msg=error["msg"], type=error["type"])
        for error in exc.errors()
    ]
    said = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors[:_SPELLED_OUT])
    if len(errors) > _SPELLED_OUT:
        said += f" (and {len(errors) - _SPELLED_OUT} more in `errors`)"
    body = ErrorBody(detail=f"invalid input: {said}", errors=errors)
    return JSONResponse(body.model_dump(), status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    return await http_exception_handler(request, exc)


def _allowed_methods(request: Request) -> list[str]:
    # Asked of the router as it routes: FastAPI nests included routers in routes of its
    # own, so only `matches` (public, and the router's own test) sees through them.
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


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
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})


def answer_errors_alike(app: FastAPI) -> None:
    """The handlers above, and an OpenAPI document whose 422s show the body they send."""
    app.add_exception_handler(RequestValidationError, _invalid_input)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error in (BuildingBlockError, TimeoutError, Unavailable):
        app.add_exception_handler(error, _unavailable)
    _document_422s(app)


def error_answer(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error answer in a route's OpenAPI `responses`: the one error body, why it is
    sent, and the headers it always carries (OpenAPI header objects)."""
    answer: dict[str, Any] = {"model": ErrorBody, "description": description}
    if headers:
        answer["headers"] = headers
    return answer


INVALID_INPUT = "the input does not match this schema: `errors` names each field and why"


def _document_422s(app: FastAPI) -> None:
    """FastAPI documents every 422 as its own HTTPValidationError, whose `detail` is a
    list; this app sends ErrorBody (see _invalid_input). Swapped in the generated
    document, once, so that no route has to declare its 422."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(body.pop("$defs"))
        schemas["ErrorBody"] = body
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                invalid = operation.get("responses", {}).get("422")
                if invalid is not None:
                    if invalid.get("description", "Validation Error") == "Validation Error":
                        invalid["description"] = INVALID_INPUT  # FastAPI's, which says less
                    invalid["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    }
        return document

    app.openapi = openapi  # type: ignore[method-assign]
