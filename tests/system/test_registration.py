"""Registration through the gateway, against identity beside a real daprd: a taken
address is a clear 409 at once, and a burst of registrations, duplicates among them,
never turns into a 5xx (a refused create-only write is retried by the sidecar for
seconds, which is why identity reads before it writes)."""

import concurrent.futures
import threading
import uuid

import httpx
import pytest

from tests.system.launcher import Sidecar

pytestmark = pytest.mark.system

PASSWORD = "correct horse battery"


def _email(tag: str) -> str:
    return f"reg-{tag}-{uuid.uuid4().hex[:12]}@example.com"


def _register(url: str, email: str, name: str = "Reg Tester") -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "name": name},
        timeout=30,
    )


def test_registering_a_taken_address_is_a_clear_409(gateway: Sidecar) -> None:
    email = _email("dup")
    first = _register(gateway.app_url, email)
    assert first.status_code == 201, first.text
    again = _register(gateway.app_url, email.upper(), name="Someone Else")
    assert again.status_code == 409, again.text
    assert again.json() == {"detail": f"email '{email}' is already registered: log in instead"}


def test_a_burst_with_duplicates_gets_one_201_per_address_and_no_5xx(gateway: Sidecar) -> None:
    contested = _email("burst")
    emails = [contested] * 5 + [_email(f"solo{i}") for i in range(5)]
    start = threading.Barrier(len(emails))

    def register(email: str) -> httpx.Response:
        start.wait(timeout=30)  # all at once, as a double-clicking crowd would
        return _register(gateway.app_url, email)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(emails)) as pool:
        answers = list(pool.map(register, emails))

    failed = [f"{a.status_code} {a.text}" for a in answers if a.status_code >= 500]
    assert not failed, failed
    contested_codes = sorted(a.status_code for a in answers[:5])
    assert contested_codes == [201, 409, 409, 409, 409], [a.text for a in answers[:5]]
    assert all(
        "already registered" in a.json()["detail"] for a in answers[:5] if a.status_code == 409
    )
    assert [a.status_code for a in answers[5:]] == [201] * 5, [a.text for a in answers[5:]]
