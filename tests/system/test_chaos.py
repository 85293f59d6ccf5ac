"""The chaos suite, short (tests/chaos; `make chaos` runs it in full), with two instances
of every service: tens of buyers check out through both gateways while the first orders
app, the second payments sidecar and the broker are killed and restarted in turn, and
forged payment events are published. The other instance of each pair carries on; both
orders instances sweep and both shipping carriers walk the same open checkouts and
shipments throughout. Every accepted order must settle, none be charged twice or paid by
a forgery, and the stock must add up. Runs after the other system tests
(conftest.RUN_LAST): it kills what they use."""

import pytest

from tests.chaos.kills import wait_shop_ready
from tests.chaos.run import Plan, print_verdict, run_chaos, write_report
from tests.system.conftest import APP_ENV
from tests.system.launcher import ROOT, Sidecar

pytestmark = pytest.mark.system


@pytest.mark.timeout(280)
def test_every_order_settles_once_while_processes_are_killed(
    checkout_style: str,
    shop: dict[str, Sidecar],
    second: dict[str, Sidecar],
    profile: str,
    secrets: dict[str, str],
) -> None:
    pairs = {sidecar.name: sidecar for sidecar in [*shop.values(), *second.values()]}
    confirmation = float(APP_ENV["orders"]["PAYMENT_CONFIRMATION_TIMEOUT_SECONDS"])
    plan = Plan(
        profile, checkout_style, buyers=40, kills="short", forgeries=4,
        confirmation_timeout=confirmation,
    )  # fmt: skip
    try:
        report = run_chaos(pairs, plan, secrets["catalog-admin-token"])
    finally:
        # Every killed process was restarted: the session's later tests need them ready.
        wait_shop_ready(pairs)
    path = ROOT / ".data" / "chaos" / f"{profile}-{checkout_style}.json"
    write_report(report, path)
    print_verdict(report, path)
    assert report["passed"], "\n".join([*report["failures"], f"the report: {path}"])
