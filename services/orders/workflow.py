"""The checkout as a Dapr Workflow (CHECKOUT_STYLE=workflow): orders drives every step
itself and compensates in reverse when one fails. The other style, the choreography, is
OrdersService.checkout; docs/checkout-styles.md compares the two.

    reserve stock -> place the order (201 to the buyer) -> charge (payments, invoked)
      -> [awaiting the provider's webhook: its outcome, raised as an event, or a timeout
          that voids the charge]
      -> confirm paid
      or compensate: refund what was charged, release the stock, cancel the order

The workflow function only decides; every effect is an activity, retried by a policy,
each idempotent (it may run again after a crash). Its history lives in the actor state
store (components/<profile>/workflowstore.yaml), so a restarted orders resumes every
checkout where it stopped."""

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

from dapr.ext.workflow import RetryPolicy, when_any
from opentelemetry import context
from opentelemetry.propagate import extract, inject
from pydantic import BaseModel
from shop_contracts.orders import OrderStatus
from shop_dapr.invoke import Unavailable
from shop_dapr.sidecar import BuildingBlockError
from shop_dapr.usecase import use_case
from shop_dapr.workflows import AppLoop, WorkflowAlreadyRunning, Workflows

from orders import domain
from orders.domain import InvalidTransition, Order
from orders.service import CheckoutRefused, OrdersService, PaymentOutcome, replayed
from orders.settings import workflow_stall_seconds

log = logging.getLogger(__name__)

WORKFLOW = "checkout"
PAYMENT_OUTCOME_EVENT = "payment-outcome"


class CheckoutInput(BaseModel):
    order: Order
    payment_token: str
    # How long a charge may await the provider's confirmation before it is voided.
    confirmation_timeout_seconds: float
    # The buyer's request: every activity's span joins its trace.
    traceparent: str | None = None


class Step(BaseModel):
    """An activity's input: the order it works on, and the trace to join."""

    order_id: str
    traceparent: str | None = None
    payment_id: str | None = None
    reason: str | None = None


# Steps up to the charge give up after about two minutes: the order is then cancelled
# and its stock released. Compensations keep trying for an hour: they must happen.
STEP_RETRY: dict[str, Any] = {
    "first_retry_interval": timedelta(milliseconds=500),
    "max_number_of_attempts": 10,
    "backoff_coefficient": 2.0,
    "max_retry_interval": timedelta(seconds=15),
    "retry_timeout": timedelta(minutes=2),
}
COMPENSATION_RETRY: dict[str, Any] = {
    "first_retry_interval": timedelta(seconds=1),
    "max_number_of_attempts": 200,
    "backoff_coefficient": 2.0,
    "max_retry_interval": timedelta(seconds=30),
    "retry_timeout": timedelta(hours=1),
}


def checkout_workflow(ctx: Any, raw: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """Deterministic: it decides from activity results and events only (it is replayed
    from its history after every step and every restart)."""
    data = CheckoutInput.model_validate(raw)
    step = Step(order_id=data.order.order_id, traceparent=data.traceparent).model_dump()
    retry, compensation = RetryPolicy(**STEP_RETRY), RetryPolicy(**COMPENSATION_RETRY)

    ctx.set_custom_status("reserving stock")
    try:
        refusal = yield ctx.call_activity("reserve_stock", input=raw, retry_policy=retry)
    except Exception as exc:  # the catalog stayed unreachable: nothing was promised yet
        refusal = f"the stock could not be reserved: {exc}"
    if refusal is not None:
        ctx.set_custom_status("refused")
        yield ctx.call_activity("release_stock", input=step, retry_policy=compensation)
        return {"refused": refusal}

    outcome: dict[str, Any]
    try:
        yield ctx.call_activity("place_order", input=raw, retry_policy=retry)
        ctx.set_custom_status("charging")
        outcome = yield ctx.call_activity("charge", input=raw, retry_policy=retry)
        if outcome["status"] == "awaiting_confirmation":
            ctx.set_custom_status("awaiting the payment provider's confirmation")
            confirmation = ctx.wait_for_external_event(PAYMENT_OUTCOME_EVENT)
            timeout = ctx.create_timer(timedelta(seconds=data.confirmation_timeout_seconds))
            if (yield when_any([confirmation, timeout])) is confirmation:
                outcome = confirmation.get_result()
            else:
                # Voided unless the confirmation came first: payments says which won.
                outcome = yield ctx.call_activity("void_charge", input=step, retry_policy=retry)
    except Exception as exc:
        # A step kept failing (payments unreachable for minutes, say). The charge may
        # still have been made: payments' word settles it (a charge awaiting the
        # provider is voided), so money taken is never followed by a cancellation.
        settled = yield ctx.call_activity("void_charge", input=step, retry_policy=compensation)
        failed = {"status": "declined", "reason": f"the checkout could not go on: {exc}"}
        outcome = settled if settled["status"] == "succeeded" else failed

    if outcome["status"] == "succeeded":
        ctx.set_custom_status("confirming")
        paid = {**step, "payment_id": outcome["payment_id"]}
        if (yield ctx.call_activity("confirm_order", input=paid, retry_policy=compensation)):
            ctx.set_custom_status("paid")
            return {"status": "paid"}
        yield ctx.call_activity("refund", input=step, retry_policy=compensation)
        outcome = {"status": "declined", "reason": "the order was cancelled before payment"}

    ctx.set_custom_status("compensating")
    yield ctx.call_activity("release_stock", input=step, retry_policy=compensation)
    cancelled = {**step, "reason": outcome.get("reason") or "payment_failed"}
    yield ctx.call_activity("cancel_order", input=cancelled, retry_policy=compensation)
    ctx.set_custom_status("cancelled")
    return {"status": "cancelled", "reason": cancelled["reason"]}


class _Acceptance:
    """Checkouts the API waits on, by order id: resolved by the activities (which run on
    the app's loop), with an Order once placed or a CheckoutRefused."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future[Order]]] = {}

    def expect(self, order_id: str) -> asyncio.Future[Order]:
        future: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(order_id, []).append(future)
        return future

    def forget(self, order_id: str, future: asyncio.Future[Order]) -> None:
        waiting = self._waiting.get(order_id, [])
        if future in waiting:
            waiting.remove(future)
        if not waiting:
            self._waiting.pop(order_id, None)

    def placed(self, order: Order) -> None:
        for future in self._waiting.get(order.order_id, []):
            if not future.done():
                future.set_result(order)

    def refused(self, order_id: str, detail: str) -> None:
        for future in self._waiting.get(order_id, []):
            if not future.done():
                future.set_exception(CheckoutRefused(409, detail))


class WorkflowCheckout:
    """The API side of the workflow style, and the activities the workflow calls."""

    def __init__(
        self,
        service: OrdersService,
        workflows: Workflows,
        loop: AppLoop,
        *,
        confirmation_timeout: timedelta,
        acceptance_deadline: timedelta,
    ) -> None:
        self._service = service
        self._workflows = workflows
        self._loop = loop
        self._confirmation_timeout = confirmation_timeout.total_seconds()
        self._stall_after = timedelta(
            seconds=workflow_stall_seconds(confirmation_timeout.total_seconds())
        )
        self._deadline = acceptance_deadline.total_seconds()
        self._acceptance = _Acceptance()

    # --- the API ----------------------------------------------------------------------

    async def checkout(
        self, order_id: str, user_id: str, email: str, payment_token: str
    ) -> tuple[Order, bool]:
        """OrdersService.checkout's chain in this style: the order once the workflow
        placed it (its stock reserved), and whether this call started the workflow."""
        if (existing := await self._service.find(order_id)) is not None:
            return replayed(existing), False
        order = await self._service.draft(order_id, user_id, email, payment_token)
        # In flight before the workflow starts, as in the choreography: should it never
        # start or stall, the sweeper finishes the checkout (moving() says when).
        await self._service.track(domain.created_event(order, None))
        carrier: dict[str, str] = {}
        inject(carrier)
        data = CheckoutInput(
            order=order,
            payment_token=payment_token,
            confirmation_timeout_seconds=self._confirmation_timeout,
            traceparent=carrier.get("traceparent"),
        )
        accepted = self._acceptance.expect(order_id)
        try:
            try:
                await self._workflows.start(WORKFLOW, order_id, data)
                started = True
            except WorkflowAlreadyRunning:
                started = False  # a retry of a checkout still running: wait for it too
            return await self._accepted(order_id, accepted), started
        finally:
            self._acceptance.forget(order_id, accepted)

    async def _accepted(self, order_id: str, accepted: asyncio.Future[Order]) -> Order:
        """The placed order, as soon as the workflow placed it. The activity tells this
        process at once; the store and the workflow's state are asked every half second
        in case it ran elsewhere (another instance, or before a restart)."""
        deadline = time.monotonic() + self._deadline
        while (left := deadline - time.monotonic()) > 0:
            try:
                return await asyncio.wait_for(asyncio.shield(accepted), min(0.5, left))
            except TimeoutError:
                pass
            if (order := await self._service.find(order_id)) is not None:
                return order
            try:
                state = await self._workflows.state(order_id)
            except BuildingBlockError as exc:
                # Read while the workflow saves, its state can look torn ("inbox key
                # declared in metadata but missing", seen on PostgreSQL): ask again.
                log.info("workflow state not readable yet: %s", exc)
                continue
            if state is not None and state.finished:
                output = state.output or {}
                if "refused" in output:
                    raise CheckoutRefused(409, output["refused"])
                raise Unavailable(f"the checkout ended {state.runtime_status}: {output}")
        raise Unavailable("the checkout is still running: ask again with the same Idempotency-Key")

    async def moving(self, order_id: str) -> bool:
        """Whether the checkout's workflow is still at work: running, and its last step
        recent enough (for the sweeper, which takes over a stalled one)."""
        try:
            state = await self._workflows.state(order_id)
        except BuildingBlockError:
            return True  # cannot tell now: the next sweep asks again
        if state is None or state.finished:
            return False
        quiet = datetime.now(UTC) - (state.last_updated or datetime.now(UTC))
        return quiet < self._stall_after

    async def apply_outcome(self, outcome: PaymentOutcome) -> None:
        """A payment outcome checked with payments: the workflow waiting for it gets it
        (kept in its history if it is not waiting yet, ignored once it moved on)."""
        order = await self._service.find(outcome.order_id)
        if order is not None and order.status is not OrderStatus.PENDING:
            return  # settled: its workflow has finished (a redelivered event)
        await self._workflows.raise_event(outcome.order_id, PAYMENT_OUTCOME_EVENT, outcome)

    # --- the activities ---------------------------------------------------------------

    def register(self, runtime: Any) -> None:
        runtime.register_workflow(checkout_workflow, name=WORKFLOW)
        activities: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]] = {
            "reserve_stock": self._reserve_stock,
            "place_order": self._place_order,
            "charge": self._charge,
            "void_charge": self._void_charge,
            "confirm_order": self._confirm_order,
            "refund": self._refund,
            "release_stock": self._release_stock,
            "cancel_order": self._cancel_order,
        }
        for name, work in activities.items():
            runtime.register_activity(self._activity(name, work), name=name)

    def _activity(
        self, name: str, work: Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]
    ) -> Callable[[Any, dict[str, Any]], Coroutine[Any, Any, Any]]:
        async def on_app_loop(data: dict[str, Any]) -> Any:
            parent = extract({"traceparent": data.get("traceparent") or ""})
            token = context.attach(parent)
            try:
                order_id = data.get("order_id") or data["order"]["order_id"]
                with use_case(f"orders.workflow.{name}", order_id):
                    return await work(data)
            finally:
                context.detach(token)

        async def activity(ctx: Any, data: dict[str, Any]) -> Any:
            return await self._loop.run(on_app_loop(data))

        activity.__name__ = name
        return activity

    async def _reserve_stock(self, raw: dict[str, Any]) -> str | None:
        order = CheckoutInput.model_validate(raw).order
        try:
            await self._service.reserve(order.order_id, order.lines)
        except CheckoutRefused as exc:
            self._acceptance.refused(order.order_id, exc.detail)
            return exc.detail
        return None

    async def _place_order(self, raw: dict[str, Any]) -> None:
        order = CheckoutInput.model_validate(raw).order
        placed, _ = await self._service.place(order, domain.created_event(order, None))
        self._acceptance.placed(placed)

    async def _charge(self, raw: dict[str, Any]) -> dict[str, Any]:
        data = CheckoutInput.model_validate(raw)
        outcome = await self._service.charge(data.order, data.payment_token)
        return outcome.model_dump()

    async def _void_charge(self, raw: dict[str, Any]) -> dict[str, Any]:
        order_id = Step.model_validate(raw).order_id
        outcome = await self._service.void_charge(order_id)
        if outcome is None:  # payments has no charge: none was made
            return {"status": "declined", "reason": domain.NOT_CHARGED}
        return outcome.model_dump()

    async def _confirm_order(self, raw: dict[str, Any]) -> bool:
        step = Step.model_validate(raw)
        try:
            await self._service.mark_paid(step.order_id, step.payment_id or "")
        except InvalidTransition:
            log.error("paid, but the order can no longer be confirmed: refunding")
            return False
        return True

    async def _refund(self, raw: dict[str, Any]) -> None:
        await self._service.refund(Step.model_validate(raw).order_id)

    async def _release_stock(self, raw: dict[str, Any]) -> None:
        await self._service.release(Step.model_validate(raw).order_id)

    async def _cancel_order(self, raw: dict[str, Any]) -> None:
        step = Step.model_validate(raw)
        await self._service.cancel(step.order_id, step.reason or "payment_failed")
