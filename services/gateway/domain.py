"""A small TTL cache, with the clock passed in so tests control time."""

import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> V | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        expires, value = hit
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: str, value: V) -> None:
        if len(self._entries) >= self._max:
            # Dicts keep insertion order: drop the oldest entry.
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (self._clock() + self._ttl, value)

    def evict(self, key: str) -> None:
        self._entries.pop(key, None)
