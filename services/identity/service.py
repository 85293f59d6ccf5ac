"""Identity use cases: register, exchange credentials for a token, read a profile."""

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from shop_dapr import ETagMismatch, StateStore

from identity.domain import (
    MAX_EMAIL_LENGTH,
    Profile,
    Registration,
    SigningKey,
    User,
    access_token_claims,
    email_key,
    normalize_email,
    user_key,
)


class EmailTaken(Exception):
    pass


class InvalidCredentials(Exception):
    pass


class UserNotFound(LookupError):
    pass


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


class Passwords:
    """Argon2id hashing, off the event loop (each hash takes tens of milliseconds of CPU)
    and at most `concurrency` at a time (each takes its memory cost in RAM)."""

    def __init__(self, hasher: PasswordHasher, concurrency: int) -> None:
        self._hasher = hasher
        self._slots = asyncio.Semaphore(concurrency)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        try:
            async with self._slots:
                await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except VerificationError:
            return False
        return True

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


class IdentityService:
    def __init__(
        self,
        state: StateStore,
        passwords: Passwords,
        signing_key: SigningKey,
        token_ttl_seconds: int,
        decoy_hash: str,
    ) -> None:
        self._state = state
        self._passwords = passwords
        self._key = signing_key
        self._ttl = token_ttl_seconds
        # Checked against when the email is unknown, so that answering "no such user"
        # takes as long as "wrong password" and timing does not reveal who is registered.
        self._decoy_hash = decoy_hash

    @classmethod
    async def create(
        cls,
        state: StateStore,
        passwords: Passwords,
        signing_key: SigningKey,
        token_ttl_seconds: int,
    ) -> "IdentityService":
        decoy = await passwords.hash(uuid.uuid4().hex)
        return cls(state, passwords, signing_key, token_ttl_seconds, decoy)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self._key.public_jwk()]}

    async def register(self, registration: Registration) -> Profile:
        """Raises EmailTaken if the address already belongs to a user."""
        # Hashed before the email is claimed, to keep the claim-to-record window short.
        password_hash = await self._passwords.hash(registration.password)
        user = User(
            user_id=uuid.uuid4().hex,
            email=registration.email,
            name=registration.name,
            password_hash=password_hash,
        )
        # The index entry is written create-only, first: of two concurrent registrations
        # of one address exactly one wins it, and only the winner writes a user record.
        if not await self._state.create(email_key(user.email), user.user_id.encode()):
            raise EmailTaken(user.email)
        try:
            await self._state.save(user_key(user.user_id), user.model_dump_json().encode())
        except Exception:
            # Release the claim, or the address would stay taken by a user never stored.
            await self._state.delete(email_key(user.email))
            raise
        return user.profile()

    async def issue_token(self, email: str, password: str) -> AccessToken:
        """Raises InvalidCredentials, alike for an unknown address and a wrong password."""
        email = normalize_email(email)
        # No address that long can be registered: spare the store a lookup of a huge key.
        found = await self._find_by_email(email) if len(email) <= MAX_EMAIL_LENGTH else None
        if found is None:
            await self._passwords.verify(self._decoy_hash, password)
            raise InvalidCredentials
        user, etag = found
        if not await self._passwords.verify(user.password_hash, password):
            raise InvalidCredentials
        if self._passwords.needs_rehash(user.password_hash):
            await self._rehash(user, etag, password)
        now = int(time.time())
        claims = access_token_claims(
            user.profile(), now=now, ttl_seconds=self._ttl, jti=uuid.uuid4().hex
        )
        return AccessToken(token=self._key.sign(claims), expires_in=self._ttl)

    async def profile(self, user_id: str) -> Profile:
        entry = await self._state.get(user_key(user_id))
        if entry is None:
            raise UserNotFound(user_id)
        return User.model_validate_json(entry.value).profile()

    async def _find_by_email(self, email: str) -> tuple[User, str] | None:
        """The user and the ETag of their record."""
        index = await self._state.get(email_key(email))
        if index is None:
            return None
        entry = await self._state.get(user_key(index.value.decode()))
        if entry is None:
            return None
        return User.model_validate_json(entry.value), entry.etag

    async def _rehash(self, user: User, etag: str, password: str) -> None:
        upgraded = user.model_copy(update={"password_hash": await self._passwords.hash(password)})
        # Should the record have changed meanwhile (a concurrent login rehashed it), that
        # version stays; the next login upgrades it if it still needs it.
        with contextlib.suppress(ETagMismatch):
            await self._state.save(
                user_key(user.user_id), upgraded.model_dump_json().encode(), etag
            )
