"""Readiness tells the truth and heals itself: /readyz goes red within seconds of the
sidecar stopping or the broker freezing, and green again once they are back, while the
app process keeps running."""

import httpx
import pytest

from tests.system.faults import BROKER, freeze, thaw
from tests.system.launcher import Sidecar
from tests.system.shopper import eventually

pytestmark = pytest.mark.system

RED_WITHIN_SECONDS = 6  # the probe's own 2 s deadline, plus the test's polling


def readiness(sidecar: Sidecar) -> tuple[int, str]:
    answer = httpx.get(f"{sidecar.app_url}/readyz", timeout=10)
    return answer.status_code, answer.json().get("reason", "")


def wait_red(sidecar: Sidecar, because: str) -> None:
    _, reason = eventually(
        lambda: (answer := readiness(sidecar))[0] == 503 and answer,
        f"{sidecar.app_id} to report not ready ({because})",
        timeout=RED_WITHIN_SECONDS,
    )
    assert because in reason, reason


def wait_green(sidecar: Sidecar) -> None:
    eventually(lambda: readiness(sidecar)[0] == 200, f"{sidecar.app_id} ready again", 60)


@pytest.fixture
def payments(shop: dict[str, Sidecar]) -> Sidecar:
    """Payments needs its state store and the broker: it publishes the charge outcome."""
    sidecar = shop["payments"]
    wait_green(sidecar)
    return sidecar


def test_readiness_follows_the_sidecar(payments: Sidecar) -> None:
    app = payments.processes["app"]
    payments.stop_sidecar()
    try:
        wait_red(payments, because="sidecar")
    finally:
        payments.start_sidecar()
    payments.wait_ready(timeout=60)
    wait_green(payments)
    assert app.poll() is None and payments.processes["app"] is app, "the app was restarted"


def test_readiness_follows_the_broker(payments: Sidecar, profile: str) -> None:
    app = payments.processes["app"]
    frozen = freeze(BROKER[profile])
    try:
        wait_red(payments, because="broker pubsub")
    finally:
        thaw(frozen)
    wait_green(payments)
    assert app.poll() is None, "the app was restarted"
