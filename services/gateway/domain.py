"""Pure building blocks of the gateway: a TTL cache and a token-bucket rate limiter,
each with the clock passed in so tests control time."""

import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")
Clock = Callable[[], float]


class TtlCache(Generic[V]):
    def __init__(
        self, ttl_seconds: float, max_entries: int = 10_000, clock: Clock = time.monotonic
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


class RateLimiter:
    """One token bucket per client: `rate` tokens a second, at most `burst` saved up."""

    def __init__(
        self, rate: float, burst: int, max_clients: int = 100_000, clock: Clock = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._max = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = self._clock()
        tokens, at = self._buckets.pop(client, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if len(self._buckets) >= self._max:
            self._buckets.pop(next(iter(self._buckets)))  # forget the longest-idle client
        if tokens >= 1:
            self._buckets[client] = (tokens - 1, now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1 - tokens) / self._rate
