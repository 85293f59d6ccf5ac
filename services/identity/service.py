"""Identity use cases: register, exchange credentials for a token, read a profile."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from shop_contracts.identity import MAX_EMAIL_LENGTH, Profile, Registration, normalize_email
from shop_dapr.app import Dapr

from identity.domain import (
    EmailOwner,
    SigningKey,
    User,
    access_token_claims,
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
        dapr: Dapr,
        passwords: Passwords,
        signing_key: SigningKey,
        token_ttl_seconds: int,
        decoy_hash: str,
    ) -> None:
        self._users = dapr.repository(User, "user")
        self._owners = dapr.repository(EmailOwner, "user-by-email")
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
        dapr: Dapr,
        passwords: Passwords,
        signing_key: SigningKey,
        token_ttl_seconds: int,
    ) -> "IdentityService":
        decoy = await passwords.hash(uuid.uuid4().hex)
        return cls(dapr, passwords, signing_key, token_ttl_seconds, decoy)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self._key.public_jwk()]}

    async def register(self, registration: Registration) -> Profile:
        """Raises EmailTaken if the address already belongs to a user."""
        # A create-only write of a key that exists fails, and the sidecar retries a failed
        # state write with backoff (stateRetry, components/common/resiliency.yaml) before
        # saying so: ~2.5 s a duplicate, and a few at once outlasted the gateway's 3 s
        # invoke timeout (503). So: read first (here, before spending a hash, and again in
        # Repository.create), and write only an address nobody holds. Registrations of
        # one address in this process take turns, so that the second reads what the
        # first wrote instead of racing it to the store.
        async with self._registering.hold(registration.email):
            if await self._owners.get(registration.email) is not None:
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
            await self._users.save(user.user_id, user)
        except Exception:
            # Release the claim, or the address would stay taken by a user never stored.
            await self._owners.delete(user.email)
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
        try:
            if await self._owners.create(user.email, EmailOwner(user_id=user.user_id)):
                return True
        except Exception:
            holder = await self._owners.get(user.email)
            if holder is None:
                raise
        else:
            holder = await self._owners.get(user.email)
        return holder is not None and holder.user_id == user.user_id

    async def issue_token(self, email: str, password: str) -> AccessToken:
        """Raises InvalidCredentials, alike for an unknown address and a wrong password."""
        email = normalize_email(email)
        # No address that long can be registered: spare the store a lookup of a huge key.
        user = await self._find_by_email(email) if len(email) <= MAX_EMAIL_LENGTH else None
        if user is None:
            await self._passwords.verify(self._decoy_hash, password)
            raise InvalidCredentials
        if not await self._passwords.verify(user.password_hash, password):
            raise InvalidCredentials
        if self._passwords.needs_rehash(user.password_hash):
            await self._rehash(user, password)
        now = int(time.time())
        claims = access_token_claims(
            user.profile(), now=now, ttl_seconds=self._ttl, jti=uuid.uuid4().hex
        )
        return AccessToken(token=self._key.sign(claims), expires_in=self._ttl)

    async def profile(self, user_id: str) -> Profile:
        if (user := await self._users.get(user_id)) is None:
            raise UserNotFound(user_id)
        return user.profile()

    async def _find_by_email(self, email: str) -> User | None:
        owner = await self._owners.get(email)
        return await self._users.get(owner.user_id) if owner else None

    async def _rehash(self, user: User, password: str) -> None:
        upgraded_hash = await self._passwords.hash(password)

        def upgrade(current: User | None) -> User:
            if current is None:
                raise UserNotFound(user.user_id)
            # Only the hash just verified is replaced. Should it have changed meanwhile
            # (a concurrent login rehashed it), that version stays: returned unchanged,
            # nothing is written; the next login upgrades it if it still needs it.
            if current.password_hash != user.password_hash:
                return current
            return current.model_copy(update={"password_hash": upgraded_hash})

        # A record gone meanwhile (identity deletes none) has nothing to upgrade; the
        # login itself was verified, so it still gets its token.
        with contextlib.suppress(UserNotFound):
            await self._users.update(user.user_id, upgrade)
