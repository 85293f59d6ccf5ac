"""Types every contract uses."""

from typing import Annotated

from pydantic import BeforeValidator, Field, Strict, StringConstraints

ProductId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
OrderId = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
Cents = Annotated[int, Field(ge=0, le=10_000_000_000)]
Quantity = Annotated[int, Field(ge=1, le=1_000)]


def _integral(value: object) -> object:
    """2.0 as 2: JSON Schema counts a number with no fraction as an integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A quantity a client sends: an integer as JSON Schema has it (2 or 2.0), never "2" or
# true, which pydantic's lax mode would take.
RequestedQuantity = Annotated[Quantity, Strict(), BeforeValidator(_integral)]

CURRENCY = "EUR"

# Set by the gateway after it has verified the caller's JWT; services behind the gateway
# trust them (only the gateway may invoke them: see dapr-config.yaml access control).
USER_ID_HEADER = "X-User-Id"
USER_EMAIL_HEADER = "X-User-Email"
