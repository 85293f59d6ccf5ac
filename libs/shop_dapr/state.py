"""State store adapter: get / save / delete / transact, with ETags for every
read-modify-write, and an in-memory fake with the same ETag rules."""

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType
from dapr.clients.grpc._state import Concurrency, StateOptions


@dataclass(frozen=True)
class StateEntry:
    value: bytes
    etag: str


@dataclass(frozen=True)
class Save:
    key: str
    value: bytes
    etag: str | None = None


@dataclass(frozen=True)
class Delete:
    key: str
    etag: str | None = None


class ETagMismatch(Exception):
    """The entry changed (or vanished) since the ETag was read: re-read and retry, or
    report a conflict to the caller."""


class StateStore(Protocol):
    async def get(self, key: str) -> StateEntry | None: ...

    async def save(self, key: str, value: bytes, etag: str | None = None) -> None:
        """Write `value`. With an ETag, only if the stored entry still carries it."""

    async def delete(self, key: str, etag: str | None = None) -> None: ...

    async def transact(self, operations: Sequence[Save | Delete]) -> None:
        """Apply every operation or none (on stores that roll back: see DESIGN.md)."""


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

    async def save(self, key: str, value: bytes, etag: str | None = None) -> None:
        # First-write concurrency: with an ETag the write must match it exactly.
        options = StateOptions(concurrency=Concurrency.first_write) if etag else None
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.save_state(self._store, key, value, etag=etag, options=options)
        except (grpc.RpcError, DaprInternalError) as exc:
            if _is_etag_error(exc):
                raise ETagMismatch(key) from exc
            raise

    async def delete(self, key: str, etag: str | None = None) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.delete_state(self._store, key, etag=etag)
        except (grpc.RpcError, DaprInternalError) as exc:
            if _is_etag_error(exc):
                raise ETagMismatch(key) from exc
            raise

    async def transact(self, operations: Sequence[Save | Delete]) -> None:
        dapr_ops = [
            TransactionalStateOperation(key=op.key, data=op.value, etag=op.etag)
            if isinstance(op, Save)
            else TransactionalStateOperation(
                key=op.key, etag=op.etag, operation_type=TransactionOperationType.delete
            )
            for op in operations
        ]
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.execute_state_transaction(self._store, dapr_ops)
        except (grpc.RpcError, DaprInternalError) as exc:
            if _is_etag_error(exc):
                raise ETagMismatch(", ".join(op.key for op in operations)) from exc
            raise


class InMemoryStateStore:
    """The fake for unit tests: same ETag rules as Dapr, transactions all-or-nothing."""

    def __init__(self) -> None:
        self.entries: dict[str, StateEntry] = {}
        self._etags = itertools.count(1)

    async def get(self, key: str) -> StateEntry | None:
        return self.entries.get(key)

    def _check(self, key: str, etag: str | None) -> None:
        if etag is not None and (key not in self.entries or self.entries[key].etag != etag):
            raise ETagMismatch(key)

    async def save(self, key: str, value: bytes, etag: str | None = None) -> None:
        self._check(key, etag)
        self.entries[key] = StateEntry(value=value, etag=str(next(self._etags)))

    async def delete(self, key: str, etag: str | None = None) -> None:
        self._check(key, etag)
        self.entries.pop(key, None)

    async def transact(self, operations: Sequence[Save | Delete]) -> None:
        for op in operations:
            self._check(op.key, op.etag)
        for op in operations:
            if isinstance(op, Save):
                await self.save(op.key, op.value)
            else:
                await self.delete(op.key)
