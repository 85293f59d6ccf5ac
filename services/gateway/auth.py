"""Who is calling: the bearer JWT, verified against identity's published keys, once a
request. The rate limiter asks first (edge.py keys its buckets by the verified user);
the route's `CurrentUser` gets the same answer from the request's scope."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from shop_auth import Authenticator, Claims, InvalidToken, JwksError
from shop_dapr.app import provided_by
from starlette.requests import HTTPConnection
from starlette.types import Scope

_bearer = HTTPBearer(auto_error=False, description="an access token from /api/v1/auth/token")
# Where a request keeps what verifying its token said (in its scope's state, which lives
# as long as the request).
_VERDICT = "gateway.caller"


async def caller(scope: Scope) -> Claims | HTTPException:
    """The claims of the request's verified bearer token, or the error that refuses it.
    Verified at the first ask and kept for the request: one signature check a request."""
    state = scope.setdefault("state", {})
    verdict: Claims | HTTPException | None = state.get(_VERDICT)
    if verdict is None:
        verdict = state[_VERDICT] = await _verify(scope)
    return verdict


async def verified_user_id(scope: Scope) -> str | None:
    """The user id of a verified token; None without one, or with one that does not
    verify (a made-up token is no identity)."""
    verdict = await caller(scope)
    return None if isinstance(verdict, HTTPException) else verdict.user_id


async def _verify(scope: Scope) -> Claims | HTTPException:
    # The same parsing as the dependency that documents the scheme in OpenAPI.
    credentials = await _bearer(HTTPConnection(scope))
    if credentials is None:
        return _unauthorized("missing bearer token: log in at /api/v1/auth/token")
    authenticator = provided_by(scope["app"], Authenticator)
    try:
        return await authenticator.verify(credentials.credentials)
    except InvalidToken as exc:
        return _unauthorized(f"invalid token: {exc.reason}")
    except JwksError as exc:
        return HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"cannot verify tokens now: {exc}",
            headers={"Retry-After": "1"},
        )


async def current_user(
    request: Request,
    # Declares the scheme in OpenAPI; the token is read by `caller`, with the same parser.
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Claims:
    verdict = await caller(request.scope)
    if isinstance(verdict, HTTPException):
        raise verdict
    return verdict


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


CurrentUser = Annotated[Claims, Depends(current_user)]
