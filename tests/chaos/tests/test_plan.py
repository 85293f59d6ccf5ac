"""How a run is laid out: buyers, stock, pacing and the kill schedules."""

import pytest

from tests.chaos.buyers import PAYING_SHARE, make_buyers
from tests.chaos.kills import targets
from tests.chaos.products import stock_per_product
from tests.chaos.run import Plan
from tests.system.launcher import SERVICES, Sidecar
from tests.system.shopper import DECLINED


def test_at_least_a_fifth_of_the_buyers_have_a_declining_card() -> None:
    buyers = make_buyers(40, ["a", "b", "c", "d"], seed=1)
    assert sum(b.card == DECLINED for b in buyers) / len(buyers) >= 0.2
    assert all(1 <= len(set(b.product_ids)) == len(b.product_ids) <= 2 for b in buyers)
    assert len({b.idempotency_key for b in buyers}) == 40


def test_demand_exceeds_the_stock() -> None:
    for buyers in (40, 200):
        stock = stock_per_product(buyers, 4, PAYING_SHARE)
        assert 4 * stock < buyers * PAYING_SHARE * 1.5


def test_buyers_are_spread_over_the_kill_schedule_unless_a_rate_is_given() -> None:
    assert Plan("redis", buyers=300).arrival_rate(17) == pytest.approx(300 / (17 * 8))
    assert Plan("redis", buyers=10).arrival_rate(17) == 1.0  # at least one a second
    assert Plan("redis", buyers=10_000).arrival_rate(17) == 5.0
    assert Plan("redis", rate=3.0).arrival_rate(17) == 3.0


@pytest.mark.parametrize(
    ("profile", "backing"),
    [
        ("redis", ["redis", "placement", "scheduler"]),
        ("kafka-postgres", ["kafka", "postgres", "placement", "scheduler"]),
    ],
)
def test_the_full_schedule_kills_every_process_once(profile: str, backing: list[str]) -> None:
    shop = {app_id: Sidecar(app_id, profile) for app_id in SERVICES}
    names = [t.name for t in targets(shop, profile, "all")]
    processes = {f"{app}/{p}" for app in SERVICES for p in ("app", "daprd")}
    count = len(processes)
    assert set(names[:count]) == processes and names[count:] == backing


def test_the_short_schedule_kills_orders_payments_sidecar_and_the_broker() -> None:
    shop = {app_id: Sidecar(app_id, "kafka-postgres") for app_id in SERVICES}
    names = [t.name for t in targets(shop, "kafka-postgres", "short")]
    assert names == ["orders/app", "payments/daprd", "kafka"]


def test_with_pairs_an_app_dies_in_one_instance_and_its_sidecar_in_the_other() -> None:
    pairs = {
        sidecar.name: sidecar
        for instance in (1, 2)
        for sidecar in (Sidecar(app_id, "redis", instance=instance) for app_id in SERVICES)
    }
    names = [t.name for t in targets(pairs, "redis", "all")]
    processes = {f"{app}/app" for app in SERVICES} | {f"{app}-2/daprd" for app in SERVICES}
    assert set(names[: len(processes)]) == processes
    assert [t.name for t in targets(pairs, "redis", "short")] == [
        "orders/app",
        "payments-2/daprd",
        "redis",
    ]


def test_the_settle_deadline_covers_the_takeover_of_a_stalled_workflow() -> None:
    # Quiet 4 + 60 s, then seen at the sweeper's next look (every 5 s), with a margin.
    workflow = Plan("redis", "workflow", confirmation_timeout=4.0)
    assert workflow.settle_within() == 4.0 + 60.0 + 2 * 5.0 + 10.0
    assert Plan("redis", "workflow", settle_deadline=300.0).settle_within() == 300.0
    # The choreography's sweeper needs no such wait: the deadline is the plan's.
    assert Plan("redis", "choreography", confirmation_timeout=4.0).settle_within() == 60.0
