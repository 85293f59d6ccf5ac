"""Per-call cost of the gateway's two hot-path building blocks, the product-page cache
(cachebox's TTLCache, gateway.service) and the per-client rate limiter (hand-written,
gateway.domain), beside the others that could stand in for them: the hand-written
cache cachebox replaced (a copy below), cachetools, throttled-py, limits, token-bucket.
Short and single-threaded: it starts no process.

    PYTHONPATH=services .venv/bin/python -m bench.micro_gateway [--calls N]

A library that is not installed is left out of the tables: the candidates are
not dependencies of the shop. Each figure is the best of five runs of N calls spread
over 1,000 distinct keys, in nanoseconds a call, the bare loop's cost included
(`baseline` shows it). `semantics` shows what each limiter answers for five requests
at once from one client with rate 1/s and burst 3: the gateway answers 0 (go ahead) or
the seconds to wait, sent as Retry-After.
"""

import argparse
import importlib.util
import time
import timeit
from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction
from typing import Any

import cachebox
from gateway.domain import RateLimiter

KEYS = [f"k{i}" for i in range(1_000)]
REPEAT = 5  # the best of: the machine's noise only ever adds
Take = Callable[[str], object]


def per_call_ns(make: Callable[[], Take], calls: int) -> float:
    rounds = max(1, calls // len(KEYS))
    best = float("inf")
    for _ in range(REPEAT):
        take = make()  # a fresh structure a run: every run starts from the same state

        def run(take: Take = take) -> None:
            for _ in range(rounds):
                for key in KEYS:
                    take(key)

        best = min(best, timeit.timeit(run, number=1))
    return best / (rounds * len(KEYS)) * 1e9


def optional(module: str) -> Any:
    """The module, or None when it is not installed: the candidates are not the shop's
    dependencies, so they are untyped here."""
    top = module.partition(".")[0]
    if importlib.util.find_spec(top) is None:
        return None
    return importlib.import_module(module)


class HandWrittenTtlCache:
    """The gateway's cache until cachebox replaced it, kept here as the yardstick."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[str, tuple[float, object]] = {}

    def get(self, key: str) -> object | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        expires, value = hit
        if time.monotonic() >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: str, value: object) -> None:
        if len(self._entries) >= self._max:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (time.monotonic() + self._ttl, value)

    def evict(self, key: str) -> None:
        self._entries.pop(key, None)


# --- caches -------------------------------------------------------------------------


def caches(ttl: float) -> dict[str, Callable[[], Any]]:
    """name -> a new cache with get(key) -> value | None, put(key, value), evict(key)."""
    found: dict[str, Callable[[], Any]] = {
        "hand-written TtlCache (old)": lambda: HandWrittenTtlCache(ttl)
    }
    if cachetools := optional("cachetools"):

        class Cachetools:
            def __init__(self) -> None:
                self.c = cachetools.TTLCache(10_000, ttl)
                self.get = self.c.get

            def put(self, key: str, value: object) -> None:
                self.c[key] = value

            def evict(self, key: str) -> None:
                self.c.pop(key, None)

        found["cachetools.TTLCache"] = Cachetools

    class Cachebox:  # as gateway.service uses it
        def __init__(self) -> None:
            self.c: cachebox.TTLCache[str, object] = cachebox.TTLCache(10_000, ttl)
            self.get = self.c.get
            self.put = self.c.insert

        def evict(self, key: str) -> None:
            self.c.pop(key, None)

    found["cachebox.TTLCache (now)"] = Cachebox
    return found


def bench_caches(calls: int) -> None:
    print(f"cache, ns a call ({calls:,} calls over {len(KEYS):,} keys)")
    print(f"  {'':28} {'get hit':>9} {'get miss':>9} {'put':>9} {'evict+put':>10}")
    for name, make in caches(60.0).items():
        figures = [per_call_ns(scenario, calls) for scenario in cache_scenarios(make)]
        hit, miss, put, churn = figures
        print(f"  {name:28} {hit:9.0f} {miss:9.0f} {put:9.0f} {churn:10.0f}")


def cache_scenarios(make: Callable[[], Any]) -> list[Callable[[], Take]]:
    """get hit, get miss, put (over a key there), evict then put (an event, then a miss)."""

    def filled() -> Any:
        cache = make()
        for key in KEYS:
            cache.put(key, key)
        return cache

    def put() -> Take:
        put = filled().put
        return lambda key: put(key, key)

    def evict_put() -> Take:
        cache = filled()

        def both(key: str) -> None:
            cache.evict(key)
            cache.put(key, key)

        return both

    return [lambda: filled().get, lambda: make().get, put, evict_put]


# --- limiters -----------------------------------------------------------------------


def limiters(rate: float, burst: int) -> dict[str, Callable[[], Take]]:
    """name -> a new limiter's take(client) -> 0 or the seconds to wait (or a bool,
    where the library has no such answer)."""
    found: dict[str, Callable[[], Take]] = {
        "hand-written RateLimiter": lambda: RateLimiter(rate, burst).take
    }
    if throttled := optional("throttled"):

        def throttled_take(using: str) -> Callable[[], Take]:
            def make() -> Take:
                # Its period is whole seconds: the rate as a fraction, so many a period.
                ratio = Fraction(rate).limit_denominator(1_000)
                period = timedelta(seconds=ratio.denominator)
                quota = throttled.per_duration(period, ratio.numerator, burst=burst)
                store = throttled.MemoryStore(options={"MAX_SIZE": 100_000})
                limiter = throttled.Throttled(using=using, quota=quota, store=store)

                def take(client: str) -> float:
                    result = limiter.limit(client)
                    return float(result.state.retry_after) if result.limited else 0.0

                return take

            return make

        found["throttled-py GCRA"] = throttled_take(throttled.RateLimiterType.GCRA.value)
        found["throttled-py token bucket"] = throttled_take(
            throttled.RateLimiterType.TOKEN_BUCKET.value
        )
    if limits := optional("limits"):
        storage, strategies = optional("limits.storage"), optional("limits.strategies")

        def limits_take(strategy: Any) -> Callable[[], Take]:
            # No token bucket: `burst` requests a window of burst/rate seconds.
            def make() -> Take:
                window = max(1, round(burst / rate))
                item = limits.RateLimitItemPerSecond(burst, window)
                limiter = strategy(storage.MemoryStorage())

                def take(client: str) -> float:
                    if limiter.hit(item, client):
                        return 0.0
                    reset = float(limiter.get_window_stats(item, client).reset_time)
                    return max(0.0, reset - time.time())

                return take

            return make

        for name in ("MovingWindow", "FixedWindow", "SlidingWindowCounter"):
            found[f"limits {name}"] = limits_take(getattr(strategies, f"{name}RateLimiter"))
    if token_bucket := optional("token_bucket"):

        def token_bucket_take() -> Take:
            # Answers yes or no only, and keeps every client it has seen.
            limiter = token_bucket.Limiter(rate, burst, token_bucket.MemoryStorage())
            return lambda client: bool(limiter.consume(client))

        found["token-bucket (bool only)"] = token_bucket_take
    return found


def bench_limiters(calls: int) -> None:
    print(f"limiter take, ns a call ({calls:,} calls over {len(KEYS):,} clients)")
    print(f"  {'':34} {'allowed':>9} {'50/s b100':>10}  semantics (rate 1/s, burst 3)")
    for name, make in limiters(1e6, 1_000_000_000).items():
        allowed = per_call_ns(make, calls)
        shop = per_call_ns(limiters(50.0, 100)[name], calls)
        take = limiters(1.0, 3)[name]()
        answers = [take("one") for _ in range(5)]
        shown = ", ".join(f"{a:.2f}" if isinstance(a, float) else str(a) for a in answers)
        print(f"  {name:34} {allowed:9.0f} {shop:10.0f}  [{shown}]")


def baseline(calls: int) -> None:
    print(f"baseline (the bare loop): {per_call_ns(lambda: lambda key: None, calls):.0f} ns")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300_000)
    calls = parser.parse_args().calls
    baseline(calls)
    bench_caches(calls)
    bench_limiters(calls)


if __name__ == "__main__":
    main()
