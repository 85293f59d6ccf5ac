"""Checkouts in flight: every order between its first step and its last, kept in the
state store so that no crash, lost publish or dead-lettered event can strand it.

A checkout is opened before any stock is held, with the order-created event it will
announce, and closed once the order is paid or cancelled and that was announced. What
stays open past a grace period is finished by the sweeper (`OrdersService.sweep`):
announced again while pending, given a final announcement once settled, or abandoned
(and its stock released) when its order was never saved.

The entries live in a fixed number of shard keys, not one key per order, because the
Dapr state API cannot list keys: a sweeper must know where to look. Sharding keeps the
ETag contention of concurrent checkouts low."""

import zlib
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from shop_contracts.orders import OrderCreated
from shop_dapr.repository import Repository

SHARDS = 16


class OpenCheckout(BaseModel):
    opened_at: datetime
    # Everything needed to announce the order again, payment token included: the order
    # record itself keeps only the card's last four digits.
    event: OrderCreated


class Shard(BaseModel):
    checkouts: dict[str, OpenCheckout] = {}


def shard_of(order_id: str) -> str:
    return str(zlib.crc32(order_id.encode()) % SHARDS)


class InFlight:
    def __init__(self, shards: Repository[Shard]) -> None:
        self._shards = shards

    async def open(self, event: OrderCreated) -> None:
        """Record the checkout; a retry of it (same order id) replaces the entry, and
        with it the grace period and the payment token."""
        entry = OpenCheckout(opened_at=datetime.now(UTC), event=event)

        def add(shard: Shard | None) -> Shard:
            shard = shard or Shard()
            return Shard(checkouts={**shard.checkouts, event.order_id: entry})

        await self._shards.update(shard_of(event.order_id), add)

    async def close(self, order_id: str) -> None:
        def remove(shard: Shard | None) -> Shard:
            if shard is None or order_id not in shard.checkouts:
                return shard or Shard()
            return Shard(checkouts={k: v for k, v in shard.checkouts.items() if k != order_id})

        await self._shards.update(shard_of(order_id), remove)

    async def older_than(self, age: timedelta) -> list[OpenCheckout]:
        """The checkouts opened more than `age` ago, oldest first."""
        shards = await self._shards.get_many([str(i) for i in range(SHARDS)])
        cutoff = datetime.now(UTC) - age
        found = [
            checkout
            for shard in shards.values()
            for checkout in shard.checkouts.values()
            if checkout.opened_at < cutoff
        ]
        return sorted(found, key=lambda c: c.opened_at)
