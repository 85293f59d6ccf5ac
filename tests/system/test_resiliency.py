"""components/common/resiliency.yaml at work, by freezing real processes: callers get a
prompt error instead of hanging, and a failing broker's circuit opens and closes again
once it recovers; a run of ETag conflicts opens nothing."""

import time

import httpx
import pytest
from shop_dapr.health import READINESS_TOPIC

from tests.system.faults import BROKER, freeze, thaw
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


def test_the_circuit_opens_on_a_frozen_broker_and_closes_after_it_recovers(
    catalog: Sidecar, profile: str
) -> None:
    # The readiness probe's topic on the order pipeline's component: the catalog may
    # publish it, and nobody receives it.
    def publish() -> httpx.Response:
        return catalog.api.post(f"/v1.0/publish/pubsub/{READINESS_TOPIC}", json={})

    frozen = freeze(BROKER[profile])
    try:
        # Each attempt times out (5 s) and counts as a failure, retries included: the
        # second call's first attempt is the fifth in a row, and trips it.
        answers: list[httpx.Response] = []
        while not answers or "circuit breaker is open" not in answers[-1].text.lower():
            answers.append(publish())
            assert answers[-1].status_code == 500
            assert len(answers) <= 4, f"the breaker never opened: {answers[-1].text}"
        # Open: the sidecar fails at once, without waiting for the broker.
        started = time.monotonic()
        assert "circuit breaker is open" in publish().text.lower()
        assert time.monotonic() - started < 0.5
    finally:
        thaw(frozen)
    # After the breaker's 5 s, a trial call goes through and closes it.
    eventually(lambda: publish().status_code == 204, "the circuit to close", timeout=60)
    assert [publish().status_code for _ in range(3)] == [204, 204, 204]


def test_a_run_of_etag_conflicts_does_not_stop_the_store(catalog: Sidecar) -> None:
    """Conflicts are answers, not failures: no breaker may count them (resiliency.yaml)."""
    key = f"conflicts-{time.time_ns()}"
    assert catalog.api.post("/v1.0/state/statestore", json=[{"key": key, "value": 1}]).is_success
    etag = catalog.api.get(f"/v1.0/state/statestore/{key}").headers["etag"]
    assert catalog.api.post("/v1.0/state/statestore", json=[{"key": key, "value": 2}]).is_success
    stale = [{"key": key, "value": 3, "etag": etag, "options": {"concurrency": "first-write"}}]
    for _ in range(8):
        assert catalog.api.post("/v1.0/state/statestore", json=stale).status_code == 409
    assert catalog.api.get(f"/v1.0/state/statestore/{key}").status_code == 200
