"""The read-modify-write helper: a lost race is retried on a fresh read."""

import pytest
from pydantic import BaseModel

from shop_dapr import TooMuchContention, update
from shop_dapr.testing import InMemoryStateStore


class Counter(BaseModel):
    n: int = 0


class RacingStore(InMemoryStateStore):
    """Another writer slips in between every read and write, `races` times."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    async def save(
        self, key: str, value: bytes, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        if self.races and etag is not None:
            self.races -= 1
            current = Counter.model_validate_json(self.entries[key].value)
            await super().save(key, Counter(n=current.n + 100).model_dump_json().encode())
        await super().save(key, value, etag, ttl_seconds)


def increment(counter: Counter | None) -> Counter:
    return Counter(n=(counter or Counter()).n + 1)


async def test_a_lost_race_is_retried_on_the_fresh_value() -> None:
    store = RacingStore(races=2)
    await update(store, "c", Counter, increment)  # created: no race on create
    result = await update(store, "c", Counter, increment)
    assert result.n == 202  # 1, +100, +100 by the other writer, then our +1
    assert Counter.model_validate_json(store.entries["c"].value).n == 202


async def test_an_unchanged_value_is_not_written() -> None:
    store = InMemoryStateStore()
    await update(store, "c", Counter, increment)
    etag = store.entries["c"].etag
    await update(store, "c", Counter, lambda c: c or Counter())
    assert store.entries["c"].etag == etag


async def test_endless_contention_gives_up_with_a_clear_error() -> None:
    store = RacingStore(races=1000)
    await store.create("c", Counter().model_dump_json().encode())
    with pytest.raises(TooMuchContention, match="retries exhausted"):
        await update(store, "c", Counter, increment, attempts=3)
