from gateway.domain import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=2, clock=clock)
    assert [limiter.take("c") for _ in range(3)] == [0, 0, 0.5]
    clock.now = 0.5
    assert limiter.take("c") == 0
    assert limiter.take("other") == 0


def test_the_longest_idle_client_is_forgotten_when_full() -> None:
    limiter = RateLimiter(rate=1, burst=1, max_clients=2, clock=Clock())
    assert [limiter.take("a"), limiter.take("a"), limiter.take("b")] == [0, 1, 0]
    # A third client: "a", idle longest, is forgotten and comes back with a full bucket
    # (then "b" is forgotten); the two tracked are still counted.
    assert [limiter.take("c"), limiter.take("a")] == [0, 0]
    assert [limiter.take("c"), limiter.take("a")] == [1, 1]
    assert len(limiter._buckets) == 2
