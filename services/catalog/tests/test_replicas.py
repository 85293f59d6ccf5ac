"""Two catalog instances over one state store, as two replicas are: each keeps its own
in-memory listing and applies the other's writes from the broadcast
`catalog.product-changed` (docs/scaling.md)."""

import httpx
from shop_dapr.testing import InMemoryPublisher, InMemoryStateStore

from catalog.tests.conftest import ADMIN, MUG, serve


def delivered(publisher: InMemoryPublisher) -> list[dict[str, object]]:
    """What was broadcast, as the sidecar would deliver it."""
    return [
        {
            "id": f"e{n}",
            "source": "catalog",
            "type": event_type,
            "specversion": "1.0",
            "data": payload.model_dump(),
        }
        for n, (_, event_type, payload) in enumerate(publisher.published)
    ]


async def search(client: httpx.AsyncClient, words: str) -> list[tuple[str, int]]:
    found = (await client.get("/products", params={"q": words})).json()["items"]
    return [(p["id"], p["price_cents"]) for p in found]


async def test_each_instance_lists_what_the_other_wrote() -> None:
    state = InMemoryStateStore()
    first_out, second_out = InMemoryPublisher(), InMemoryPublisher()
    async for first in serve(state, first_out):
        async for second in serve(state, second_out):
            await first.put("/products/mug", json=MUG, headers=ADMIN)
            assert await search(second, "mug") == []  # not yet: it has not heard
            for event in delivered(first_out):
                reply = await second.post("/events/catalog/product-changed", json=event)
                assert reply.json() == {"status": "SUCCESS"}
            assert await search(second, "mug") == [("mug", 1250)]

            await second.delete("/products/mug", headers=ADMIN)
            for event in delivered(second_out):
                await first.post("/events/catalog/product-changed", json=event)
            assert await search(first, "mug") == []


async def test_a_repeated_or_late_notice_leaves_the_listing_as_the_store_has_it() -> None:
    state = InMemoryStateStore()
    out = InMemoryPublisher()
    async for client in serve(state, out):
        await client.put("/products/mug", json=MUG, headers=ADMIN)
        await client.put("/products/mug", json={**MUG, "price_cents": 990}, headers=ADMIN)
        # The first notice again, after the second: it reads the product, not the event.
        events = delivered(out)
        for event in [*events, events[0]]:
            await client.post("/events/catalog/product-changed", json=event)
        assert await search(client, "mug") == [("mug", 990)]
