"""The checkout workflow's decisions, step by step: a fake context records the
activities it asks for and hands back scripted results, as the durable runtime would."""

from collections.abc import Callable, Generator
from typing import Any

import pytest

from orders import workflow
from orders.tests.fakes import PENDING_ORDER

ORDER = PENDING_ORDER
INPUT = workflow.CheckoutInput(
    order=ORDER, payment_token="4242424242424242", confirmation_timeout_seconds=5
).model_dump(mode="json")
PAID = {"status": "succeeded", "payment_id": "pay_1", "reason": None}
DECLINED = {"status": "declined", "payment_id": None, "reason": "card_declined"}
AWAITING = {"status": "awaiting_confirmation", "payment_id": None, "reason": None}


class Task:
    def __init__(self, kind: str, name: str, data: Any = None) -> None:
        self.kind, self.name, self.data = kind, name, data
        self.result: Any = None

    def get_result(self) -> Any:
        return self.result


class Context:
    def __init__(self) -> None:
        self.activities: list[tuple[str, Any]] = []
        self.statuses: list[str] = []
        self.event = Task("event", workflow.PAYMENT_OUTCOME_EVENT)
        self.timer = Task("timer", "timeout")

    def set_custom_status(self, status: str) -> None:
        self.statuses.append(status)

    def call_activity(self, name: str, *, input: Any, retry_policy: Any) -> Task:
        assert retry_policy is not None, f"{name} has no retry policy"
        self.activities.append((name, input))
        return Task("activity", name, input)

    def wait_for_external_event(self, name: str) -> Task:
        return self.event

    def create_timer(self, delay: Any) -> Task:
        return self.timer

    @property
    def steps(self) -> list[str]:
        return [name for name, _ in self.activities]


Answer = Callable[[Task], Any]


def run(answer: Answer) -> tuple[Context, dict[str, Any]]:
    """Drive the workflow to its end; `answer` gives each yielded task's result (an
    exception is thrown into the workflow, as a failed activity is)."""
    ctx = Context()
    steps: Generator[Any, Any, dict[str, Any]] = workflow.checkout_workflow(ctx, INPUT)
    task = next(steps)
    try:
        while True:
            result = answer(task)
            task = steps.throw(result) if isinstance(result, Exception) else steps.send(result)
    except StopIteration as done:
        return ctx, done.value


def activities(results: dict[str, Any], winner: str = "event") -> Answer:
    def answer(task: Any) -> Any:
        if isinstance(task, WhenAny):
            return task.tasks[0] if winner == "event" else task.tasks[1]
        return results.get(task.name)

    return answer


class WhenAny:
    def __init__(self, tasks: list[Task]) -> None:
        self.tasks = tasks


@pytest.fixture(autouse=True)
def fake_when_any(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workflow, "when_any", WhenAny)


def test_paid_in_four_steps() -> None:
    ctx, result = run(activities({"charge": PAID, "confirm_order": True}))
    assert ctx.steps == ["reserve_stock", "place_order", "charge", "confirm_order"]
    assert result == {"status": "paid"}
    assert ctx.statuses[-1] == "paid"
    assert ctx.activities[-1][1]["payment_id"] == "pay_1"


def test_refused_reservation_places_nothing() -> None:
    ctx, result = run(activities({"reserve_stock": "only 1 of product 'mug' available"}))
    assert ctx.steps == ["reserve_stock", "release_stock"]
    assert result == {"refused": "only 1 of product 'mug' available"}


def test_declined_card_releases_then_cancels() -> None:
    ctx, result = run(activities({"charge": DECLINED}))
    assert ctx.steps == ["reserve_stock", "place_order", "charge", "release_stock", "cancel_order"]
    assert result == {"status": "cancelled", "reason": "card_declined"}
    assert ctx.activities[-1][1]["reason"] == "card_declined"


def test_a_late_confirmation_is_awaited_as_an_event() -> None:
    def answer(task: Any) -> Any:
        if isinstance(task, WhenAny):
            task.tasks[0].result = PAID
            return task.tasks[0]
        return {"charge": AWAITING, "confirm_order": True}.get(task.name)

    ctx, result = run(answer)
    assert ctx.steps == ["reserve_stock", "place_order", "charge", "confirm_order"]
    assert "awaiting the payment provider's confirmation" in ctx.statuses
    assert result == {"status": "paid"}


def test_no_confirmation_in_time_voids_the_charge_and_compensates() -> None:
    voided = {"status": "declined", "payment_id": None, "reason": "confirmation_timeout"}
    ctx, result = run(activities({"charge": AWAITING, "void_charge": voided}, winner="timer"))
    assert ctx.steps == [
        "reserve_stock",
        "place_order",
        "charge",
        "void_charge",
        "release_stock",
        "cancel_order",
    ]
    assert result == {"status": "cancelled", "reason": "confirmation_timeout"}


def test_a_confirmation_that_won_the_race_against_the_void_is_kept() -> None:
    ctx, result = run(
        activities({"charge": AWAITING, "void_charge": PAID, "confirm_order": True}, "timer")
    )
    assert ctx.steps[-2:] == ["void_charge", "confirm_order"]
    assert result == {"status": "paid"}


def test_a_charge_that_keeps_failing_is_settled_by_payments_then_compensated() -> None:
    def answer(task: Any) -> Any:
        if task.name == "charge":
            return RuntimeError("payments unreachable")
        return (
            {"status": "declined", "reason": "not_charged"} if task.name == "void_charge" else None
        )

    ctx, result = run(answer)
    assert ctx.steps == [
        "reserve_stock",
        "place_order",
        "charge",
        "void_charge",
        "release_stock",
        "cancel_order",
    ]
    assert result["status"] == "cancelled"
    assert "payments unreachable" in result["reason"]


def test_a_charge_made_although_its_step_failed_is_kept_not_cancelled() -> None:
    def answer(task: Any) -> Any:
        if task.name == "charge":
            return RuntimeError("the answer was lost")
        return {"void_charge": PAID, "confirm_order": True}.get(task.name)

    ctx, result = run(answer)
    assert ctx.steps[-2:] == ["void_charge", "confirm_order"]
    assert result == {"status": "paid"}


def test_paid_but_not_confirmable_is_refunded() -> None:
    ctx, result = run(activities({"charge": PAID, "confirm_order": False}))
    assert ctx.steps[-4:] == ["confirm_order", "refund", "release_stock", "cancel_order"]
    assert result["status"] == "cancelled"
