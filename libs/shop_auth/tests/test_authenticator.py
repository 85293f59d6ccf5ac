"""The Authenticator both the gateway and notifications use: identity's keys fetched on
first use and kept, fetched again when identity rotates its key, but not for every
made-up key id. Identity is played by FakeIdentity behind a fake sidecar."""

import asyncio

import httpx
import pytest
from shop_dapr.invoke import Invoker

from shop_auth import Authenticator, InvalidToken, JwksError
from shop_auth.testing import FakeIdentity

INTERVAL = Authenticator.MIN_REFRESH_INTERVAL_SECONDS


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def authenticator(identity: FakeIdentity, clock: Clock) -> Authenticator:
    async def sidecar(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let concurrent verifications meet at the fetch
        return identity.handle(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(sidecar), base_url="http://sidecar")
    return Authenticator(Invoker(client), identity.app_id, clock=clock)


async def test_keys_are_loaded_on_first_use_and_kept(
    identity: FakeIdentity, authenticator: Authenticator
) -> None:
    assert identity.fetches == 0

    tokens = [identity.token(f"u{n}") for n in range(5)]
    claims = await asyncio.gather(*(authenticator.verify(token) for token in tokens))

    assert [c.user_id for c in claims] == [f"u{n}" for n in range(5)]
    assert identity.fetches == 1


async def test_failed_load_is_retried_on_the_next_token(
    identity: FakeIdentity, authenticator: Authenticator
) -> None:
    identity.down = True
    with pytest.raises(JwksError, match="could not fetch"):
        await authenticator.verify(identity.token())

    identity.down = False

    assert (await authenticator.verify(identity.token())).user_id == "ada"
    assert identity.fetches == 2


async def test_invalid_token_is_refused(
    identity: FakeIdentity, authenticator: Authenticator
) -> None:
    with pytest.raises(InvalidToken, match="malformed token"):
        await authenticator.verify("forged")
    with pytest.raises(InvalidToken, match="signature invalid"):
        await authenticator.verify(identity.forged())
    assert identity.fetches == 1  # a bad signature is no reason to fetch again


async def test_a_rotated_key_is_fetched_and_the_old_one_still_verifies(
    identity: FakeIdentity, authenticator: Authenticator, clock: Clock
) -> None:
    old = identity.token("ada")
    await authenticator.verify(old)
    clock.now += INTERVAL

    identity.rotate("k2")
    new = await asyncio.gather(*(authenticator.verify(identity.token("bob")) for _ in range(3)))

    assert [c.user_id for c in new] == ["bob"] * 3
    assert (await authenticator.verify(old)).user_id == "ada"
    assert identity.fetches == 2  # one fetch for every token that waited on it


async def test_made_up_key_ids_fetch_at_most_once_per_interval(
    identity: FakeIdentity, authenticator: Authenticator, clock: Clock
) -> None:
    await authenticator.verify(identity.token())
    made_up = identity.token(kid="made-up")  # a key id identity never had
    for _ in range(10):
        with pytest.raises(InvalidToken, match="unknown key id"):
            await authenticator.verify(made_up)
    assert identity.fetches == 1

    clock.now += INTERVAL
    for _ in range(10):
        with pytest.raises(InvalidToken, match="unknown key id"):
            await authenticator.verify(made_up)
    assert identity.fetches == 2


async def test_a_key_rotated_just_after_a_fetch_is_accepted_once_the_interval_passed(
    identity: FakeIdentity, authenticator: Authenticator, clock: Clock
) -> None:
    await authenticator.verify(identity.token())
    identity.rotate("k2")
    with pytest.raises(InvalidToken, match="unknown key id"):
        await authenticator.verify(identity.token())

    clock.now += INTERVAL

    assert (await authenticator.verify(identity.token())).user_id == "ada"


async def test_kept_keys_still_verify_while_a_refresh_fails(
    identity: FakeIdentity, authenticator: Authenticator, clock: Clock
) -> None:
    kept = identity.token()
    await authenticator.verify(kept)
    clock.now += INTERVAL
    identity.rotate("k2")
    identity.down = True

    with pytest.raises(JwksError):
        await authenticator.verify(identity.token())
    assert (await authenticator.verify(kept)).user_id == "ada"

    identity.down = False
    assert (await authenticator.verify(identity.token())).user_id == "ada"
