from gateway.domain import RateLimiter, TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cache_entries_expire() -> None:
    clock = Clock()
    cache: TtlCache[int] = TtlCache(10, clock=clock)
    cache.put("a", 1)
    clock.now = 9.9
    assert cache.get("a") == 1
    clock.now = 10
    assert cache.get("a") is None


def test_cache_drops_the_oldest_entry_when_full() -> None:
    cache: TtlCache[int] = TtlCache(10, max_entries=2)
    for key in "abc":
        cache.put(key, 1)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 1, 1)


def test_bucket_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=2, clock=clock)
    assert [limiter.take("c") for _ in range(3)] == [0, 0, 0.5]
    clock.now = 0.5
    assert limiter.take("c") == 0
    assert limiter.take("other") == 0
