"""Identity use cases: register, exchange credentials for a token, read a profile."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
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


class KeyedLock:
    """One asyncio lock per key, held only while someone holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        """How many keys are held or awaited."""
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


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
        self._registering = KeyedLock()

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
        # A create-only write of a key that exists fails, and the sidecar retries a failed
        # state write with backoff (stateRetry, components/common/resiliency.yaml) before
        # saying so: ~2.5 s a duplicate, and a few at once outlasted the gateway's 3 s
        # invoke timeout (503). So: read first, and write only an address nobody holds.
        # Registrations of one address in this process take turns, so that the second
        # reads what the first wrote instead of racing it to the store.
        async with self._registering.hold(registration.email):
            if await self._state.get(email_key(registration.email)) is not None:
                raise EmailTaken(registration.email)
            return await self._register_new(registration)

    async def _register_new(self, registration: Registration) -> Profile:
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
        if not await self._claim(user):
            raise EmailTaken(user.email)
        try:
            await self._state.save(user_key(user.user_id), user.model_dump_json().encode())
        except Exception:
            # Release the claim, or the address would stay taken by a user never stored.
            await self._state.delete(email_key(user.email))
            raise
        return user.profile()

    async def _claim(self, user: User) -> bool:
        """Write the address's index entry naming `user` unless it exists; True if it
        names `user` now.

        Two instances of identity can still race for one new address (both read it
        absent): the loser's create-only write pays the sidecar's retries (~2.5 s, up
        to ~3.4 s, near the gateway's 3 s budget) before it fails. A failed or refused
        write is judged by a re-read: held by another user is taken (409); held by us
        is a write that landed after all (a retry refused by our own first attempt);
        absent is a real failure, raised."""
        key, mine = email_key(user.email), user.user_id.encode()
        try:
            if await self._state.create(key, mine):
                return True
        except Exception:
            holder = await self._state.get(key)
            if holder is None:
                raise
        else:
            holder = await self._state.get(key)
        return holder is not None and holder.value == mine

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
