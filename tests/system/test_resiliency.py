"""components/common/resiliency.yaml at work, by freezing real processes: callers get a
prompt error instead of hanging, and a failing store's circuit opens and closes again
once it recovers."""

import time

import httpx
import pytest

from tests.system.faults import STATE_STORE, freeze, thaw
from tests.system.launcher import Sidecar
from tests.system.shopper import eventually

pytestmark = pytest.mark.system


def test_a_frozen_service_gives_callers_a_prompt_clear_error(
    catalog: Sidecar, gateway: Sidecar
) -> None:
    catalog.pause_app()
    try:
        started = time.monotonic()
        through_gateway = httpx.get(
            f"{gateway.app_url}/api/v1/products/teapot-{time.time_ns()}", timeout=30
        )
        assert time.monotonic() - started < 8
        assert through_gateway.status_code == 503
        assert "catalog" in through_gateway.json()["detail"]

        started = time.monotonic()
        sidecar_call = gateway.api.get("/v1.0/invoke/catalog/method/products/teapot")
        # The invoke timeout (2 s) and its two retries bound the wait.
        assert time.monotonic() - started < 8
        assert sidecar_call.status_code == 500
        assert "deadline" in sidecar_call.text.lower() or "timeout" in sidecar_call.text.lower()
    finally:
        catalog.resume_app()
    eventually(
        lambda: gateway.api.get("/v1.0/invoke/catalog/method/products/teapot").status_code == 200,
        "the catalog to answer again after the freeze",
    )


def test_the_circuit_opens_on_a_failing_store_and_closes_after_it_recovers(
    catalog: Sidecar, profile: str
) -> None:
    def read() -> httpx.Response:
        return catalog.api.get("/v1.0/state/statestore/anything")

    frozen = freeze(STATE_STORE[profile])
    try:
        # Each read times out (2 s) and counts as a failure; the fifth in a row trips it.
        answers: list[httpx.Response] = []
        while not answers or "circuit breaker is open" not in answers[-1].text.lower():
            answers.append(read())
            assert answers[-1].status_code == 500
            assert len(answers) <= 6, f"the breaker never opened: {answers[-1].text}"
        # Open: the sidecar fails at once, without waiting for the store.
        started = time.monotonic()
        assert "circuit breaker is open" in read().text.lower()
        assert time.monotonic() - started < 0.5
    finally:
        thaw(frozen)
    # After the breaker's 5 s, a trial call goes through and closes it.
    eventually(lambda: read().status_code == 204, "the circuit to close", timeout=30)
    assert [read().status_code for _ in range(3)] == [204, 204, 204]
