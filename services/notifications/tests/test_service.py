"""The token authenticator: identity's keys are loaded on first use, once."""

import asyncio

import pytest
from shop_auth import InvalidToken, JwksError

from notifications.service import Authenticator, TokenVerifier
from notifications.tests.fakes import FakeVerifier


class Loader:
    """Plays fetching identity's keys: fails while identity is down, counts the calls."""

    def __init__(self, identity_up: bool = True) -> None:
        self.identity_up = identity_up
        self.calls = 0

    async def __call__(self) -> TokenVerifier:
        self.calls += 1
        await asyncio.sleep(0)
        if not self.identity_up:
            raise JwksError("could not fetch /.well-known/jwks.json of app 'identity'")
        return FakeVerifier()


async def test_keys_are_loaded_on_first_use_and_kept() -> None:
    load = Loader()
    authenticator = Authenticator(load)
    assert load.calls == 0

    users = await asyncio.gather(*(authenticator.user_id(f"token-u{n}") for n in range(5)))

    assert users == [f"u{n}" for n in range(5)]
    assert load.calls == 1


async def test_failed_load_is_retried_on_the_next_connection() -> None:
    load = Loader(identity_up=False)
    authenticator = Authenticator(load)
    with pytest.raises(JwksError):
        await authenticator.user_id("token-ada")

    load.identity_up = True

    assert await authenticator.user_id("token-ada") == "ada"
    assert load.calls == 2


async def test_invalid_token_is_refused() -> None:
    with pytest.raises(InvalidToken):
        await Authenticator(Loader()).user_id("forged")
