"""What verifying a token answers: its claims, or why it was refused. Kept apart from the
verifier, which needs PyJWT, so that a service can name them without loading it."""

from dataclasses import dataclass
from datetime import datetime

# The one refusal that fetching identity's keys again may cure (it rotated its key).
UNKNOWN_KEY_ID = "unknown key id"


class InvalidToken(Exception):
    """The token was refused. `reason` is safe to show the caller: it never quotes the
    token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    user_id: str
    email: str
    name: str
    expires_at: datetime
