"""Composition root: `uvicorn --factory orders.main:create_app`."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from shop_dapr.app import Dapr, provide, service_app
from shop_dapr.workflows import AppLoop, workflow_worker

from orders import api, events
from orders.service import OrdersService, Peers
from orders.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> FastAPI:
    """The orders app; unit tests pass fakes as `dapr` (shop_dapr.testing.fake_dapr)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def wire(app: FastAPI, dapr: Dapr) -> AsyncIterator[None]:
        peers = Peers(
            settings.cart_app_id,
            settings.catalog_app_id,
            settings.payments_app_id,
            settings.shipping_app_id,
        )
        confirmation_timeout = timedelta(seconds=settings.payment_confirmation_timeout_seconds)
        service = OrdersService(
            dapr,
            peers,
            timedelta(seconds=settings.sweep_reannounce_seconds),
            confirmation_timeout,
        )
        async with AsyncExitStack() as stack:
            if settings.checkout_style == "workflow":
                # Imported only here: the SDK and gRPC would add 19 MB to every orders
                # process (70 -> 89 MB idle, docs/benchmarks), used by this style only.
                from orders.workflow import WorkflowCheckout

                workflow = WorkflowCheckout(
                    service,
                    dapr.workflows,
                    AppLoop(asyncio.get_running_loop()),
                    confirmation_timeout=confirmation_timeout,
                    acceptance_deadline=timedelta(seconds=settings.checkout_acceptance_seconds),
                )
                service.chain_with(workflow.checkout, workflow.apply_outcome, workflow.moving)
                await stack.enter_async_context(
                    workflow_worker(settings.dapr_grpc_port, workflow.register)
                )
            provide(app, service)
            log.info("checkout style: %s", settings.checkout_style)
            # Always on: it also finishes choreographed checkouts left open by a switch.
            sweeper = asyncio.create_task(_sweep_forever(service, settings))
            stack.callback(sweeper.cancel)
            yield

    return service_app(
        "orders",
        settings,
        routers=[api.router, events.router],
        wire=wire,
        needs=["state", "broker"],
        dapr=dapr,
    )


async def _sweep_forever(service: OrdersService, settings: Settings) -> None:
    """From start-up on (a restart finds at once what a crash left open), then every
    interval; a failed sweep is logged and tried again at the next."""
    grace = timedelta(seconds=settings.sweep_grace_seconds)
    while True:
        try:
            swept = await service.sweep(grace)
            if swept:
                log.info("sweeper finished %d open checkouts", swept)
        except Exception:
            log.warning(
                "sweep failed; trying again in %.0fs",
                settings.sweep_interval_seconds,
                exc_info=True,
            )
        await asyncio.sleep(settings.sweep_interval_seconds)
