"""Identity's public contract: who may register, the JWTs it issues and where its public
keys are."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

JWT_ISSUER = "shop-identity"
JWT_AUDIENCE = "shop"
JWT_ALGORITHM = "EdDSA"
JWKS_PATH = "/.well-known/jwks.json"
# Secret-store names: the Ed25519 private key (PEM) that signs tokens.
JWT_SIGNING_KEY_SECRET = "identity-jwt-signing-key"  # noqa: S105 (a name, not a value)

# What a registration may be, as the gateway publishes it in the OpenAPI and identity
# checks it: the schema is exactly what is accepted (no stripping before the checks), so
# that a client validating against the published schema is never refused.

# Deliberately loose: one '@', no spaces or control characters, a dotted domain. Whether
# the address exists is for a confirmation mail to find out, not a regex. The patterns
# name their ranges instead of using \s: JSON Schema's \s (ECMA-262), Python's and
# pydantic-core's differ (\x85, \x1c-\x1f), and a client checking the published schema
# must get the answer identity gives.
EMAIL_PATTERN = (
    r"^[^@\x00-\x20\x7f-\x9f]{1,64}@[^@.\x00-\x20\x7f-\x9f]+(\.[^@.\x00-\x20\x7f-\x9f]+)+$"
)
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path, less its angle brackets


def normalize_email(email: str) -> str:
    """Addresses are compared case-insensitively: 'Ann@X.org' and 'ann@x.org' are one user."""
    return email.strip().lower()


Email = Annotated[
    str,
    StringConstraints(max_length=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN),
    AfterValidator(normalize_email),
]
# Not stripped: spaces are legitimate password characters.
Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]
# At least one character that is neither a space nor a control character; kept without
# the spaces around it.
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"[^\x00-\x20\x7f-\x9f]"),
    AfterValidator(str.strip),
]


class Registration(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse", "name": "Ada"}]
        },
    )

    email: Email
    password: Password
    name: Name


class Profile(BaseModel):
    """A user as identity shows them."""

    user_id: str
    email: str
    name: str


class TokenResponse(BaseModel):
    """RFC 6749 section 5.1's answer to a password grant."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int = Field(description="seconds the token is valid for")
