"""Pure building blocks of the gateway: a token-bucket rate limiter, with the clock passed
in so tests control time.

It stays hand-written: on its hot path (every /api/ request) it costs about 0.35 us a
call over 1,000 clients, where throttled-py's GCRA, the one library found that gives
the same answers (a burst, then a steady rate, and the seconds until allowed) and keeps
a bounded number of clients, costs about 3 us; `limits` costs 2 to 9 us and counts
windows, not a bucket (Retry-After 3 where a bucket says 1). bench/micro_gateway.py
measures them. The product-page cache is cachebox's (gateway.service)."""

import time
from collections.abc import Callable

Clock = Callable[[], float]


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
