"""The listing read model (SQLite in memory) and its shelves in the state store."""

import httpx
import pytest
from shop_contracts.catalog import ProductQuery
from shop_dapr.testing import InMemoryPublisher, InMemoryStateStore

from catalog.domain import IndexEntry
from catalog.readmodel import SHELVES, Listing, Shelf, shelf_of
from catalog.tests.conftest import ADMIN, MUG, serve


def entry(name: str, price: int = 100, category: str = "kitchen", text: str = "") -> IndexEntry:
    return IndexEntry(name=name, description=text, category=category, price_cents=price)


@pytest.fixture
def listing() -> Listing:
    shelf = Listing()
    shelf.load(
        [
            ("mug", entry("Mug", 1250, text="blue stoneware")),
            ("teapot", entry("Teapot", 3900, text="for hot tea")),
            ("pen", entry("pen", 300, "stationery", 'the "best" pen')),
            ("board", entry("Cutting board", 2900)),
        ]
    )
    return shelf


def search(listing: Listing, **query: object) -> tuple[list[str], int]:
    return listing.search(ProductQuery.model_validate(query))


def test_lists_by_name_whatever_the_case(listing: Listing) -> None:
    assert search(listing) == (["board", "mug", "pen", "teapot"], 4)


def test_words_match_as_substrings_of_name_description_or_category(listing: Listing) -> None:
    assert search(listing, q="TEA hot") == (["teapot"], 1)
    assert search(listing, q="ston") == (["mug"], 1)  # inside a word
    assert search(listing, q="itchen") == (["board", "mug", "teapot"], 3)  # the category
    assert search(listing, q="ug") == (["mug"], 1)  # shorter than a trigram
    assert search(listing, q='"best"') == (["pen"], 1)  # quotes are text, not syntax
    assert search(listing, q="tea nothing") == ([], 0)


def test_filters_sort_and_page_with_the_total_of_all_matches(listing: Listing) -> None:
    assert search(listing, category="KITCHEN", sort="-price", page_size=2) == (
        ["teapot", "board"],
        3,
    )
    assert search(listing, category="kitchen", sort="-price", page_size=2, page=2) == (["mug"], 3)
    assert search(listing, min_price_cents=1000, max_price_cents=3000, sort="price") == (
        ["mug", "board"],
        2,
    )
    assert search(listing, q="o", page=9) == ([], 4)  # past the last page: the total still
    assert search(listing, category="garden") == ([], 0)


def test_put_replaces_and_remove_forgets(listing: Listing) -> None:
    listing.put("mug", entry("Zebra mug", 5, "home"))
    listing.remove("pen")
    listing.remove("never-there")

    assert search(listing) == (["board", "teapot", "mug"], 3)
    assert search(listing, q="stoneware") == ([], 0)  # the old text is gone from the index
    assert search(listing, q="zebra") == (["mug"], 1)
    assert listing.categories() == {"home": 1, "kitchen": 2}
    assert "pen" not in listing and "mug" in listing


def test_shelves_spread_products_and_stay_put() -> None:
    shelves = {shelf_of(f"product-{n}") for n in range(5000)}
    assert len(shelves) > SHELVES * 0.95
    assert shelf_of("mug") == shelf_of("mug")


async def test_a_write_touches_one_shelf_and_a_restart_lists_it(
    client: httpx.AsyncClient, state: InMemoryStateStore
) -> None:
    before = dict(state.entries)
    assert (await client.put("/products/mug", json=MUG, headers=ADMIN)).status_code == 200

    written = {k for k, v in state.entries.items() if before.get(k) != v}
    assert written == {"product:mug", f"catalog-index:{shelf_of('mug')}"}
    async for again in serve(state, InMemoryPublisher()):
        assert [p["id"] for p in (await again.get("/products")).json()["items"]] == ["mug"]


async def test_a_delete_leaves_the_listing_and_its_shelf(
    client: httpx.AsyncClient, state: InMemoryStateStore
) -> None:
    await client.put("/products/mug", json=MUG, headers=ADMIN)
    assert (await client.delete("/products/mug", headers=ADMIN)).status_code == 204

    assert (await client.get("/products")).json()["total"] == 0
    assert f"catalog-index:{shelf_of('mug')}" not in state.entries  # empty shelves go


async def test_the_single_index_record_of_earlier_versions_moves_to_the_shelves(
    state: InMemoryStateStore, publisher: InMemoryPublisher
) -> None:
    legacy = Shelf(entries={"mug": entry("Mug", 1250)})
    await state.save("catalog-index:all", legacy.model_dump_json().encode())

    async for c in serve(state, publisher):
        assert [p["id"] for p in (await c.get("/products")).json()["items"]] == []  # no record
        assert (await c.get("/categories")).json() == {"kitchen": 1}
    assert "catalog-index:all" not in state.entries
    assert f"catalog-index:{shelf_of('mug')}" in state.entries
