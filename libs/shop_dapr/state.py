"""The state store adapter under shop_dapr.repository: get, bulk get, save (with an
ETag, with a TTL), create-only and delete, as bytes of JSON, through the sidecar's HTTP
state API."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from shop_dapr.sidecar import Answer, SidecarApi


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


def _is_etag_error(answer: Answer) -> bool:
    # Dapr answers an ETag conflict with 409, and an ETag it cannot parse (for example
    # one from another store type) with 400 naming the ETag; to a caller both mean stale.
    return answer.status == 409 or (answer.status == 400 and "etag" in answer.reason().lower())


class DaprStateStore:
    def __init__(self, sidecar: SidecarApi, store_name: str) -> None:
        self._sidecar = sidecar
        self._path = f"/v1.0/state/{quote(store_name, safe='')}"

    def _key_path(self, key: str) -> str:
        return f"{self._path}/{quote(key, safe='')}"

    async def get(self, key: str) -> StateEntry | None:
        answer = await self._sidecar.call("GET", self._key_path(key))
        if answer.status == 204:
            return None
        if answer.status != 200:
            raise answer.failure(f"reading '{key}'")
        return StateEntry(value=answer.body, etag=answer.headers.get("ETag", ""))

    async def get_many(self, keys: Sequence[str]) -> dict[str, StateEntry]:
        if not keys:
            return {}
        body = json.dumps({"keys": list(keys)}).encode()
        answer = await self._sidecar.call("POST", f"{self._path}/bulk", body=body)
        if answer.status != 200:
            raise answer.failure(f"reading {len(keys)} keys")
        # The bulk API hands each value back parsed; the repository reads bytes.
        return {
            item["key"]: StateEntry(
                value=json.dumps(item["data"], separators=(",", ":")).encode(),
                etag=item.get("etag", ""),
            )
            for item in json.loads(answer.body)
            if item.get("data") is not None and not item.get("error")
        }

    async def save(
        self, key: str, value: bytes, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        # First-write concurrency: with an ETag the write must match it exactly.
        answer = await self._write(
            key, value, etag=etag, first_write=etag is not None, ttl=ttl_seconds
        )
        if answer.status == 204:
            return
        if _is_etag_error(answer):
            raise ETagMismatch(key)
        raise answer.failure(f"saving '{key}'")

    async def create(self, key: str, value: bytes, ttl_seconds: int | None = None) -> bool:
        # First-write without an ETag writes only an absent key. Stores word the refusal
        # differently (and not as an ETag error), so a failure is judged by a re-read.
        answer = await self._write(key, value, etag=None, first_write=True, ttl=ttl_seconds)
        if answer.status == 204:
            return True
        if await self.get(key) is not None:
            return False
        raise answer.failure(f"creating '{key}'")

    async def _write(
        self, key: str, value: bytes, *, etag: str | None, first_write: bool, ttl: int | None
    ) -> Answer:
        item: dict[str, object] = {"key": key}
        if etag is not None:
            item["etag"] = etag
        if first_write:
            item["options"] = {"concurrency": "first-write"}
        if ttl:
            item["metadata"] = {"ttlInSeconds": str(ttl)}
        # The value is JSON already: spliced in, not parsed and dumped again.
        head = json.dumps(item)[:-1].encode()
        body = b"[" + head + b', "value": ' + value + b"}]"
        return await self._sidecar.call("POST", self._path, body=body)

    async def delete(self, key: str, etag: str | None = None) -> None:
        headers = {"If-Match": etag} if etag is not None else None
        answer = await self._sidecar.call("DELETE", self._key_path(key), headers=headers)
        if answer.status in (200, 204):
            return
        if _is_etag_error(answer):
            raise ETagMismatch(key)
        raise answer.failure(f"deleting '{key}'")
