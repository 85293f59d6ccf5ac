"""Notification use cases: the receipt on payment, "on its way" on shipment, live status
for connected clients."""

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cachebox import LRUCache
from pydantic import BaseModel
from shop_contracts.notifications import ORDER_UPDATE_TOPIC, ORDER_UPDATE_TYPE, OrderUpdate
from shop_contracts.orders import OrderCreated, OrderStatus, OrderStatusChanged
from shop_dapr.app import Dapr
from shop_dapr.bindings import MailSender
from shop_dapr.metrics import NOTIFICATIONS_SENT
from shop_dapr.pubsub import Publisher
from shop_dapr.repository import Repository
from shop_dapr.usecase import use_case

from notifications.domain import (
    Receipt,
    StatusUpdate,
    is_behind,
    is_mailable,
    render_on_its_way,
    render_receipt,
)

log = logging.getLogger(__name__)


class Undeliverable(ValueError):
    """The order's address cannot be mailed; no redelivery will change that."""


class StatusHub:
    """The connected clients, by user id: each connection has its own queue, drained onto
    its socket by its own task, so a slow or dead socket never holds up a topic handler or
    another client, and each socket gets its updates in the order they were pushed.

    An order's `pending` (from `orders.order-created`) and its `paid` or `cancelled` (from
    `orders.order-status-changed`) come by two topics, which a broker does not order
    between them (Kafka delivers `paid` first now and then), and the statuses of one
    topic may overtake each other too (`delivered` before `shipped`, or a repeated
    `shipped` after `delivered`). A client must never see an order go back, so the hub
    remembers the furthest status it saw of each order and drops an older one.

    Kept in memory: it reaches the clients of this one instance only, so every instance
    gets every status, broadcast as `notifications.order-update` by the instance that
    received the order event (docs/scaling.md). A restart forgets the settled orders; a
    `pending` that arrives late across a restart is pushed (the client's next read of the
    order tells the truth)."""

    # Orders remembered: a late status comes within seconds of the one it follows, so
    # this only has to outlast a few seconds of checkouts (about 1.6 MB when full).
    SETTLED_REMEMBERED = 20_000

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[str]]] = {}
        self._settled: LRUCache[str, OrderStatus] = LRUCache(self.SETTLED_REMEMBERED)

    @contextmanager
    def connect(self, user_id: str) -> Iterator[asyncio.Queue[str]]:
        """The queue of this user's updates, registered until the block ends."""
        # Unbounded: a user has a handful of order events, and a socket that stops
        # reading is closed by its sender's timeout, which drops its queue.
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues.setdefault(user_id, set()).add(queue)
        try:
            yield queue
        finally:
            queues = self._queues[user_id]
            queues.discard(queue)
            if not queues:
                del self._queues[user_id]

    def connections(self, user_id: str) -> int:
        return len(self._queues.get(user_id, ()))

    def push(self, user_id: str, update: StatusUpdate) -> None:
        known = self._settled.get(update.order_id, None)
        if known is not None and is_behind(update.status, known):
            return  # it was overtaken: the client has the newer status
        if update.status is not OrderStatus.PENDING:
            self._settled[update.order_id] = update.status
        message = update.model_dump_json(exclude_none=True)
        for queue in self._queues.get(user_id, ()):
            queue.put_nowait(message)
            NOTIFICATIONS_SENT.labels("websocket").inc()


class ReceiptSent(BaseModel):
    """The marker that says an order's receipt has been sent (stored as `receipt:<order>`),
    and the event that sent it."""

    event_id: str


class NotificationService:
    def __init__(self, dapr: Dapr, hub: StatusHub) -> None:
        self._receipts = dapr.repository(ReceiptSent, "receipt")
        # The same marker for the "on its way" mail (`on-its-way:<order>`).
        self._shipped_mails = dapr.repository(ReceiptSent, "on-its-way")
        self._mail: MailSender = dapr.mail
        self._broadcaster: Publisher = dapr.broadcaster
        self._hub = hub

    async def order_created(self, order: OrderCreated) -> None:
        with use_case("notifications.order_created", order.order_id):
            await self._announce(order, OrderStatus.PENDING)

    def order_update(self, update: OrderUpdate) -> None:
        """A status for the live feed, from whichever instance received the order event:
        pushed to this instance's clients of its buyer."""
        self._hub.push(update.user_id, StatusUpdate(**update.model_dump(exclude={"user_id"})))

    async def order_status_changed(self, event_id: str, change: OrderStatusChanged) -> None:
        """Announce the new status to every instance's live feed; once the order is paid,
        send its receipt once, and once it is shipped, the "on its way" mail once
        (delivered is pushed only).

        Raises MailNotSent, a broker or state store error (worth a redelivery), or
        Undeliverable.
        """
        with use_case("notifications.order_status_changed", change.order_id):
            # Announced first: the status is true whether or not the mail goes out.
            await self._announce(change, change.status, change.tracking_number)
            if change.status is OrderStatus.PAID:
                await self._send_once(self._receipts, render_receipt, event_id, change)
            elif change.status is OrderStatus.SHIPPED:
                await self._send_once(self._shipped_mails, render_on_its_way, event_id, change)

    async def _announce(
        self,
        order: OrderCreated | OrderStatusChanged,
        status: OrderStatus,
        tracking_number: str | None = None,
    ) -> None:
        update = OrderUpdate(
            user_id=order.user_id,
            order_id=order.order_id,
            status=status,
            total_cents=order.total_cents,
            currency=order.currency,
            tracking_number=tracking_number,
        )
        await self._broadcaster.publish(ORDER_UPDATE_TOPIC, ORDER_UPDATE_TYPE, update)

    async def _send_once(
        self,
        sent: Repository[ReceiptSent],
        render: Callable[[OrderStatusChanged], Receipt],
        event_id: str,
        order: OrderStatusChanged,
    ) -> None:
        """The mail `render` makes, unless `sent` says it went out already."""
        if await sent.get(order.order_id) is not None:
            log.info("%s mail of order %s already sent, skipping", order.status, order.order_id)
            return
        if not is_mailable(order.email):
            raise Undeliverable(f"order {order.order_id} has no mailable address")
        mail = render(order)
        await self._mail.send(order.email, mail.subject, mail.body)
        NOTIFICATIONS_SENT.labels("email").inc()
        log.info("%s mail sent", order.status)
        # The marker follows the send, so a crash (or a failed write) between the two
        # sends the receipt again on redelivery, as does a redelivery racing this one:
        # the receipt is at least once, not exactly once. SMTP offers no idempotency key
        # that could close that window.
        await sent.create(order.order_id, ReceiptSent(event_id=event_id))
