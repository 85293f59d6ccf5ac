"""Registering an address that is taken answers 409 at once: identity reads before it
writes, because the sidecar retries a refused create-only write for seconds
(stateRetry) before it reports the refusal. The stores here refuse as the sidecar does."""

import asyncio

import pytest
from shop_dapr.testing import InMemorySecretStore, InMemoryStateStore, serving

from identity.domain import EmailOwner
from identity.service import KeyedLock
from identity.tests.conftest import identity_app

ANN = {"email": "ann@example.org", "password": "correct horse battery", "name": "Ann"}
TAKEN = {"detail": "email 'ann@example.org' is already registered: log in instead"}
EMAIL_KEY = "user-by-email:ann@example.org"


class SidecarLikeStore(InMemoryStateStore):
    """Counts create-only writes; one of an existing key fails as daprd's does after its
    retries, with an error rather than a refusal."""

    def __init__(self) -> None:
        super().__init__()
        self.creates: list[str] = []

    async def create(self, key: str, value: bytes, ttl_seconds: int | None = None) -> bool:
        self.creates.append(key)
        if key in self.entries:
            raise RuntimeError("failed saving state: key already exists (after 3 retries)")
        return await super().create(key, value, ttl_seconds)


def users(state: InMemoryStateStore) -> list[str]:
    return [key for key in state.entries if key.startswith("user:")]


async def test_a_taken_address_is_409_without_a_write(secrets: InMemorySecretStore) -> None:
    state = SidecarLikeStore()
    async with serving(identity_app(state, secrets)) as client:
        assert (await client.post("/register", json=ANN)).status_code == 201
        again = await client.post("/register", json={**ANN, "email": "ANN@example.org"})
    assert again.status_code == 409
    assert again.json() == TAKEN
    assert state.creates == [EMAIL_KEY]


async def test_concurrent_registrations_in_one_process_write_the_address_once(
    secrets: InMemorySecretStore,
) -> None:
    state = SidecarLikeStore()
    async with serving(identity_app(state, secrets)) as client:
        same = [{**ANN, "name": f"Ann {i}"} for i in range(5)]
        others = [{**ANN, "email": f"u{i}@example.org"} for i in range(5)]
        answers = await asyncio.gather(
            *(client.post("/register", json=body) for body in same + others)
        )
    codes = [a.status_code for a in answers]
    assert sorted(codes[:5]) == [201, 409, 409, 409, 409]
    assert codes[5:] == [201] * 5
    assert all(a.json() == TAKEN for a in answers[:5] if a.status_code == 409)
    assert state.creates.count(EMAIL_KEY) == 1
    assert len(users(state)) == 6


class RacedStore(InMemoryStateStore):
    """Another instance of identity claims the address between this one's read and its
    create-only write; the write then fails as `outcome` says."""

    OTHER = EmailOwner(user_id="f" * 32).model_dump_json().encode()

    def __init__(self, outcome: str) -> None:
        super().__init__()
        self.outcome = outcome

    async def create(self, key: str, value: bytes, ttl_seconds: int | None = None) -> bool:
        if key == EMAIL_KEY and key not in self.entries:
            await self.save(key, self.OTHER)
        if self.outcome == "refused":  # DaprStateStore.create re-read and saw it taken
            return await super().create(key, value, ttl_seconds)
        if self.outcome == "timeout":  # the call outlived its deadline
            raise TimeoutError
        raise RuntimeError("failed saving state")


@pytest.mark.parametrize("outcome", ["refused", "timeout", "error"])
async def test_losing_a_race_to_another_instance_is_409(
    secrets: InMemorySecretStore, outcome: str
) -> None:
    state = RacedStore(outcome)
    async with serving(identity_app(state, secrets)) as client:
        answer = await client.post("/register", json=ANN)
    assert answer.status_code == 409
    assert answer.json() == TAKEN
    assert state.entries[EMAIL_KEY].value == RacedStore.OTHER
    assert users(state) == []


class LateWriteStore(InMemoryStateStore):
    """The create-only write lands, but its caller hears a failure (a timeout, or a
    retry refused because of the attempt that landed)."""

    async def create(self, key: str, value: bytes, ttl_seconds: int | None = None) -> bool:
        await super().create(key, value, ttl_seconds)
        raise TimeoutError


async def test_a_claim_that_landed_despite_an_error_registers_the_user(
    secrets: InMemorySecretStore,
) -> None:
    state = LateWriteStore()
    async with serving(identity_app(state, secrets)) as client:
        answer = await client.post("/register", json=ANN)
        assert answer.status_code == 201
        login = {"grant_type": "password", "username": ANN["email"], "password": ANN["password"]}
        assert (await client.post("/token", data=login)).status_code == 200
    assert users(state) == [f"user:{answer.json()['user_id']}"]


class BrokenStore(InMemoryStateStore):
    async def create(self, key: str, value: bytes, ttl_seconds: int | None = None) -> bool:
        raise RuntimeError("state store down")


async def test_a_failed_claim_of_a_free_address_is_an_error_not_a_409(
    secrets: InMemorySecretStore,
) -> None:
    state = BrokenStore()
    async with serving(identity_app(state, secrets)) as client:
        with pytest.raises(RuntimeError, match="state store down"):
            await client.post("/register", json=ANN)
    assert state.entries == {}


async def test_keyed_lock_serializes_one_key_and_forgets_it() -> None:
    locks = KeyedLock()
    events: list[str] = []

    async def hold(key: str, name: str) -> None:
        async with locks.hold(key):
            events.append(f"{name} in")
            await asyncio.sleep(0.01)
            events.append(f"{name} out")

    await asyncio.gather(hold("a", "1"), hold("a", "2"), hold("b", "3"))
    assert events.index("1 out") < events.index("2 in")
    assert events.index("3 in") < events.index("1 out")  # another key does not wait
    assert len(locks) == 0
