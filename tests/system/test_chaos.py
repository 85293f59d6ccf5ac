"""The chaos suite, short (tests/chaos; `make chaos` runs it in full): tens of buyers
check out while the orders app, the payments sidecar and the broker are killed and
restarted in turn, and forged payment events are published. Every accepted order must
settle, none be charged twice or paid by a forgery, and the stock must add up. Runs after
the other system tests (conftest.RUN_LAST): it kills what they use; and before
test_replicas.py starts a second instance of every service, so that here each killed
process is the only one of its kind. test_replicas.py runs the same with pairs."""

import pytest

from tests.chaos.kills import wait_shop_ready
from tests.chaos.run import Plan, print_verdict, run_chaos, write_report
from tests.system.conftest import APP_ENV
from tests.system.launcher import ROOT, Sidecar

pytestmark = pytest.mark.system


def chaos_in_short(shop: dict[str, Sidecar], profile: str, style: str, admin_token: str) -> None:
    """The short schedule against `shop` (by Sidecar.name: with "orders-2"..., one
    instance of each pair is killed); fails with the report's failures."""
    confirmation = float(APP_ENV["orders"]["PAYMENT_CONFIRMATION_TIMEOUT_SECONDS"])
    plan = Plan(
        profile, style, buyers=40, kills="short", forgeries=4, confirmation_timeout=confirmation
    )
    try:
        report = run_chaos(shop, plan, admin_token)
    finally:
        # Every killed process was restarted: the session's later tests need them ready.
        wait_shop_ready(shop)
    pairs = "-replicas" if report["replicas"] > 1 else ""
    path = ROOT / ".data" / "chaos" / f"{profile}-{style}{pairs}.json"
    write_report(report, path)
    print_verdict(report, path)
    assert report["passed"], "\n".join([*report["failures"], f"the report: {path}"])


@pytest.mark.timeout(280)
def test_every_order_settles_once_while_processes_are_killed(
    checkout_style: str, shop: dict[str, Sidecar], profile: str, secrets: dict[str, str]
) -> None:
    chaos_in_short(shop, profile, checkout_style, secrets["catalog-admin-token"])
