"""The state store adapter under shop_dapr.repository: get, bulk get, save (with an
ETag, with a TTL), create-only and delete, as bytes."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError
from dapr.clients.grpc._state import Concurrency, StateOptions


@dataclass(frozen=True)
class StateEntry:
    value: bytes
    etag: str


class ETagMismatch(Exception):
    """The entry changed (or vanished) since the ETag was read: re-read and retry, or
    report a conflict to the caller."""


class StateStore(Protocol):
    async def get(self, key: str) -> StateEntry | None: ...

    async def get_many(self, keys: Sequence[str]) -> dict[str, StateEntry]:
        """The entries that exist, by key, in one round trip."""

    async def save(
        self, key: str, value: bytes, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """Write `value`. With an ETag, only if the stored entry still carries it; with a
        TTL, the store forgets the entry that many seconds after this write."""

    async def create(self, key: str, value: bytes, ttl_seconds: int | None = None) -> bool:
        """Write `value` only if `key` is absent (first write wins); False if it exists."""

    async def delete(self, key: str, etag: str | None = None) -> None: ...


# Dapr answers an ETag conflict with ABORTED, and an ETag it cannot parse (for example one
# from another store type) with INVALID_ARGUMENT; to a caller both mean "stale".
_ETAG_CODES = {grpc.StatusCode.ABORTED, grpc.StatusCode.INVALID_ARGUMENT}


def _is_etag_error(exc: BaseException) -> bool:
    # The SDK raises DaprGrpcError for most calls but wraps save_state's failure in a
    # DaprInternalError that keeps the gRPC status only as its cause.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, grpc.RpcError) and hasattr(cause, "code"):
            return cause.code() in _ETAG_CODES and "etag" in (cause.details() or "").lower()
        cause = cause.__cause__
    return False


class DaprStateStore:
    def __init__(self, client: DaprClient, store_name: str, timeout_seconds: float) -> None:
        self._client = client
        self._store = store_name
        self._timeout = timeout_seconds

    async def get(self, key: str) -> StateEntry | None:
        async with asyncio.timeout(self._timeout):
            response = await self._client.get_state(self._store, key)
        if not response.data:
            return None
        return StateEntry(value=response.data, etag=response.etag)

    async def get_many(self, keys: Sequence[str]) -> dict[str, StateEntry]:
        if not keys:
            return {}
        async with asyncio.timeout(self._timeout):
            response = await self._client.get_bulk_state(self._store, list(keys))
        return {
            item.key: StateEntry(
                value=item.data if isinstance(item.data, bytes) else item.data.encode(),
                etag=item.etag,
            )
            for item in response.items
            if item.data and not item.error
        }

    async def save(
        self, key: str, value: bytes, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        # First-write concurrency: with an ETag the write must match it exactly.
        options = StateOptions(concurrency=Concurrency.first_write) if etag else None
        metadata = {"ttlInSeconds": str(ttl_seconds)} if ttl_seconds else {}
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.save_state(
                    self._store, key, value, etag=etag, options=options, state_metadata=metadata
                )
        except (grpc.RpcError, DaprInternalError) as exc:
            if _is_etag_error(exc):
                raise ETagMismatch(key) from exc
            raise

    async def create(self, key: str, value: bytes, ttl_seconds: int | None = None) -> bool:
        # First-write without an ETag writes only an absent key. Stores word the refusal
        # differently (and not as an ETag error), so a failure is judged by a re-read.
        options = StateOptions(concurrency=Concurrency.first_write)
        metadata = {"ttlInSeconds": str(ttl_seconds)} if ttl_seconds else {}
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.save_state(
                    self._store, key, value, options=options, state_metadata=metadata
                )
        except (grpc.RpcError, DaprInternalError):
            if await self.get(key) is not None:
                return False
            raise
        return True

    async def delete(self, key: str, etag: str | None = None) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.delete_state(self._store, key, etag=etag)
        except (grpc.RpcError, DaprInternalError) as exc:
            if _is_etag_error(exc):
                raise ETagMismatch(key) from exc
            raise
