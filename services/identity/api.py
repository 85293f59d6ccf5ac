"""HTTP routes: thin, translating between HTTP and the use cases."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from shop_contracts.common import USER_ID_HEADER, UserId
from shop_contracts.identity import JWKS_PATH, Profile, Registration, TokenResponse
from shop_dapr.app import provided

from identity.service import EmailTaken, IdentityService, InvalidCredentials, UserNotFound

router = APIRouter()

ServiceDep = Annotated[IdentityService, Depends(provided(IdentityService))]
# Set by the gateway from a verified token; identity trusts it because only the gateway
# may invoke identity (Dapr access control).
CallerId = Annotated[UserId | None, Header(alias=USER_ID_HEADER)]


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(registration: Registration, service: ServiceDep) -> Profile:
    try:
        return await service.register(registration)
    except EmailTaken:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"email '{registration.email}' is already registered: log in instead",
        ) from None


@router.post("/token")
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    service: ServiceDep,
    response: Response,
) -> TokenResponse:
    """OAuth2 password grant: form fields `username` (the email) and `password`."""
    try:
        issued = await service.issue_token(form.username, form.password)
    except InvalidCredentials:
        # One message for both causes, so the answer does not reveal who is registered.
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    # RFC 6749 section 5.1: responses carrying tokens must not be cached.
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(access_token=issued.token, expires_in=issued.expires_in)


@router.get(JWKS_PATH)
async def jwks(service: ServiceDep) -> dict[str, Any]:
    return service.jwks()


@router.get("/users/me")
async def me(service: ServiceDep, caller: CallerId = None) -> Profile:
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"no authenticated caller: call through the gateway with a bearer token "
            f"(it sets {USER_ID_HEADER})",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return await service.profile(caller)
    except UserNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user '{caller}' not found") from None
