"""One way to store: the records of one model type under one key prefix, as JSON, with
ETags for every read-modify-write. Services never build keys or decode stored JSON."""

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, overload

from pydantic import BaseModel

from shop_dapr.state import ETagMismatch, StateStore

M = TypeVar("M", bound=BaseModel)

# How often a read-modify-write may lose its race before it gives up. Each lost race
# means another writer got through, so this bounds waiting, not progress.
UPDATE_ATTEMPTS = 25


class TooMuchContention(ETagMismatch):
    """Every attempt of a read-modify-write lost its race."""


@dataclass(frozen=True)
class Versioned(Generic[M]):
    """A record and the ETag it was read with (for a later conditional write)."""

    value: M
    etag: str


class Repository(Generic[M]):
    """The records of `model` stored under `<prefix>:<id>`."""

    def __init__(self, state: StateStore, model: type[M], prefix: str) -> None:
        self._state = state
        self._model = model
        self._prefix = prefix

    def key(self, record_id: str) -> str:
        return f"{self._prefix}:{record_id}"

    async def get(self, record_id: str) -> M | None:
        found = await self.read(record_id)
        return found.value if found else None

    async def read(self, record_id: str) -> Versioned[M] | None:
        entry = await self._state.get(self.key(record_id))
        if entry is None:
            return None
        return Versioned(self._model.model_validate_json(entry.value), entry.etag)

    async def get_many(self, record_ids: Sequence[str]) -> dict[str, M]:
        """The records that exist, by id, in one round trip."""
        keys = {self.key(i): i for i in dict.fromkeys(record_ids)}
        entries = await self._state.get_many(list(keys))
        return {keys[k]: self._model.model_validate_json(e.value) for k, e in entries.items()}

    async def save(
        self, record_id: str, value: M, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """Write `value`; with an ETag only over that version (else ETagMismatch); with a
        TTL the store forgets it that many seconds after this write."""
        await self._state.save(self.key(record_id), _dump(value), etag, ttl_seconds)

    async def create(self, record_id: str, value: M) -> bool:
        """Write `value` only if the id is free (first write wins); False if taken.

        Reads first: the sidecar retries a refused create-only write with backoff
        (seconds) before it reports the refusal (docs/dapr-traps.md)."""
        if await self._state.get(self.key(record_id)) is not None:
            return False
        return await self._state.create(self.key(record_id), _dump(value))

    @overload
    async def update(
        self, record_id: str, change: Callable[[M | None], M], *, ttl_seconds: int | None = None
    ) -> M: ...

    @overload
    async def update(
        self,
        record_id: str,
        change: Callable[[M | None], M | None],
        *,
        ttl_seconds: int | None = None,
    ) -> M | None: ...

    async def update(
        self,
        record_id: str,
        change: Callable[[M | None], M | None],
        *,
        ttl_seconds: int | None = None,
    ) -> M | None:
        """Read the record, apply `change` (a pure function of it, or of None when
        absent) and write the result only if nobody wrote in between: an ETag write, or a
        create-only one for an absent record; a None result deletes the record, at the
        version read. A lost race is retried after a short jittered pause. When `change`
        returns its argument unchanged nothing is written."""
        key = self.key(record_id)
        for attempt in range(UPDATE_ATTEMPTS):
            entry = await self._state.get(key)
            current = self._model.model_validate_json(entry.value) if entry else None
            new = change(current)
            if new is current:
                return new
            try:
                if new is None:
                    assert entry is not None  # current was not None, or new would be it
                    await self._state.delete(key, entry.etag)
                    return None
                if entry is None:
                    if await self._state.create(key, _dump(new), ttl_seconds):
                        return new
                else:
                    await self._state.save(key, _dump(new), entry.etag, ttl_seconds)
                    return new
            except ETagMismatch:
                pass
            await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311 (jitter)
        raise TooMuchContention(f"{key}: {UPDATE_ATTEMPTS} concurrent-write retries exhausted")

    async def delete(self, record_id: str, *, etag: str | None = None) -> None:
        await self._state.delete(self.key(record_id), etag)


def _dump(value: BaseModel) -> bytes:
    return value.model_dump_json().encode()
