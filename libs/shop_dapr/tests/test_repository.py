"""The one way to store: keys, JSON, create-only, and the read-modify-write that
retries a lost race on a fresh read."""

import pytest
from pydantic import BaseModel

from shop_dapr import repository
from shop_dapr.repository import Repository, TooMuchContention
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


async def test_records_are_json_under_their_prefix() -> None:
    store = InMemoryStateStore()
    counters = Repository(store, Counter, "counter")
    assert await counters.create("a", Counter(n=1))
    assert not await counters.create("a", Counter(n=2))  # first write wins
    await counters.save("b", Counter(n=3), ttl_seconds=60)
    assert sorted(store.entries) == ["counter:a", "counter:b"]
    assert store.ttls == {"counter:b": 60}
    assert await counters.get("a") == Counter(n=1)
    assert await counters.get_many(["b", "a", "missing", "a"]) == {
        "a": Counter(n=1),
        "b": Counter(n=3),
    }
    await counters.delete("a")
    assert await counters.get("a") is None


async def test_a_lost_race_is_retried_on_the_fresh_value() -> None:
    store = RacingStore(races=2)
    counters = Repository(store, Counter, "c")
    await counters.update("x", increment)  # created: no race on create
    result = await counters.update("x", increment)
    assert result.n == 202  # 1, +100, +100 by the other writer, then our +1
    assert await counters.get("x") == Counter(n=202)


async def test_an_unchanged_value_is_not_written() -> None:
    store = InMemoryStateStore()
    counters = Repository(store, Counter, "c")
    await counters.update("x", increment)
    etag = store.entries["c:x"].etag
    await counters.update("x", lambda c: c or Counter())
    assert store.entries["c:x"].etag == etag


async def test_endless_contention_gives_up_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(repository, "UPDATE_ATTEMPTS", 3)
    store = RacingStore(races=1000)
    counters = Repository(store, Counter, "c")
    await counters.create("x", Counter())
    with pytest.raises(TooMuchContention, match="retries exhausted"):
        await counters.update("x", increment)


async def test_a_none_change_deletes_at_the_version_read() -> None:
    store = RacingStore(races=0)
    counters = Repository(store, Counter, "c")
    assert await counters.update("x", lambda c: c) is None  # absent stays absent, unwritten
    assert store.entries == {}
    await counters.create("x", Counter(n=1))
    assert await counters.update("x", lambda c: None) is None
    assert await counters.get("x") is None
