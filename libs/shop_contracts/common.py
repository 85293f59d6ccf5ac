"""Types every contract uses."""

from typing import Annotated

from pydantic import Field, StringConstraints

ProductId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
OrderId = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
Cents = Annotated[int, Field(ge=0, le=10_000_000_000)]
Quantity = Annotated[int, Field(ge=1, le=1_000)]

CURRENCY = "EUR"

# Set by the gateway after it has verified the caller's JWT; services behind the gateway
# trust them (only the gateway may invoke them: see dapr-config.yaml access control).
USER_ID_HEADER = "X-User-Id"
USER_EMAIL_HEADER = "X-User-Email"
