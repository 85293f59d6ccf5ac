"""Listing, filtering and search over the whole catalog, at any size.

Products are stored one record each (`product:<id>`), which the Dapr state API can read
by key but neither list nor query. Their summaries (what listing and search need) are
therefore kept twice:

- in the state store, spread over `SHELVES` records (`catalog-index:<n>`, n = crc32 of
  the id): the durable copy. A product write rewrites one shelf of about N / 1024
  summaries (about 100 at 100,000 products), not the whole catalog;
- in memory, in an SQLite database of this process (Python's own `sqlite3`): the read
  model every listing and search reads. It is loaded from the shelves at start and kept
  current by this instance's writes. Its indexes make a listing page a range of an
  index, and its FTS5 trigram index makes a search a lookup, whatever the catalog's size.

It is a cache of the state store, never the truth: a restart rebuilds it. Each catalog
instance keeps its own, and applies every instance's writes as they are announced:
`catalog.product-changed` is broadcast, to every instance (docs/scaling.md).
"""

import sqlite3
import zlib
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel
from shop_contracts.catalog import ProductQuery

from catalog.domain import IndexEntry

SHELVES = 1024
# The record prefixes (shop_dapr.repository keys are `<prefix>:<id>`); the benchmark
# writes its large catalog under the same ones.
PRODUCT_PREFIX = "product"
SHELF_PREFIX = "catalog-index"


def shelf_of(product_id: str) -> str:
    """The id of the shelf record that holds this product's summary."""
    return str(zlib.crc32(product_id.encode()) % SHELVES)


ALL_SHELVES = [str(n) for n in range(SHELVES)]


class Shelf(BaseModel):
    """One `catalog-index:<n>` record: the summaries of the products hashed to it."""

    entries: dict[str, IndexEntry] = {}


_SCHEMA = """
CREATE TABLE products (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name_key TEXT NOT NULL,      -- the name in lower case, the listing's order
    category TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    text TEXT NOT NULL           -- what a search looks in, lower case
);
CREATE INDEX by_name ON products (name_key, id);
CREATE INDEX by_price ON products (price_cents, id);
CREATE INDEX by_category_name ON products (category, name_key, id);
CREATE INDEX by_category_price ON products (category, price_cents, id);
-- Trigrams find any substring of three characters or more, as a scan would.
CREATE VIRTUAL TABLE texts USING fts5(
    text, content='products', content_rowid='rowid', tokenize='trigram'
);
"""

_ORDER = {
    "price": "price_cents, id",
    "-price": "price_cents DESC, id DESC",
}
_BY_NAME = "name_key, id"


class Listing:
    """The in-memory read model. Every method is synchronous and quick (an indexed query
    of an in-memory database), so it runs on the event loop like any other code."""

    def __init__(self) -> None:
        # One connection, used only from the event loop's thread.
        self._db = sqlite3.connect(":memory:", isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._categories: Counter[str] = Counter()

    def __len__(self) -> int:
        return self._categories.total()

    def __contains__(self, product_id: object) -> bool:
        found = self._db.execute("SELECT 1 FROM products WHERE id = ?", (product_id,))
        return found.fetchone() is not None

    def load(self, entries: Iterable[tuple[str, IndexEntry]]) -> None:
        """Fill the empty model at start, in bulk: row by row, 100,000 products take
        17 s; in one statement and one FTS rebuild, about 2."""
        assert not self, "load() fills an empty read model"
        rows = [_row(product_id, entry) for product_id, entry in entries]
        self._db.executemany(_INSERT, rows)
        self._db.execute("INSERT INTO texts (texts) VALUES ('rebuild')")
        self._categories.update(category for _, _, category, _, _ in rows)

    def put(self, product_id: str, entry: IndexEntry) -> None:
        self.remove(product_id)
        row = _row(product_id, entry)
        cursor = self._db.execute(_INSERT, row)
        self._db.execute(
            "INSERT INTO texts (rowid, text) VALUES (?, ?)", (cursor.lastrowid, row[4])
        )
        self._categories[entry.category] += 1

    def remove(self, product_id: str) -> None:
        row = self._db.execute(
            "SELECT rowid, category, text FROM products WHERE id = ?", (product_id,)
        ).fetchone()
        if row is None:
            return
        rowid, category, text = row
        # An external-content FTS5 table forgets a row only when told its old text.
        self._db.execute(
            "INSERT INTO texts (texts, rowid, text) VALUES ('delete', ?, ?)", (rowid, text)
        )
        self._db.execute("DELETE FROM products WHERE rowid = ?", (rowid,))
        self._categories[category] -= 1
        if not self._categories[category]:
            del self._categories[category]

    def categories(self) -> dict[str, int]:
        return dict(sorted(self._categories.items()))

    def search(self, query: ProductQuery) -> tuple[list[str], int]:
        """The ids of one page of matches, and the number of matches in all: every word
        of `q` is a substring of the name, description or category (any case)."""
        where, params = _conditions(query)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        order = _ORDER.get(query.sort, _BY_NAME)
        page = self._db.execute(
            f"SELECT id FROM products{clause} ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608
            (*params, query.page_size, (query.page - 1) * query.page_size),
        )
        return [product_id for (product_id,) in page], self._count(where, clause, params)

    def _count(self, where: list[str], clause: str, params: list[object]) -> int:
        # The counts of the pages shoppers open most are kept, not counted.
        if not where:
            return len(self)
        if where == ["category = ?"]:
            return self._categories.get(str(params[0]), 0)
        if where == [_MATCHES]:  # words alone: the trigram index counts them (0.04 ms
            # at 100,000 products, where counting through the products takes 0.28)
            (total,) = self._db.execute(_COUNT_MATCHES, params).fetchone()
            return int(total)
        # A second query, on an index: at 100,000 products a page and its count this way
        # take 0.4 ms where one query with `count(*) OVER ()` takes 6 (it sorts every match).
        (total,) = self._db.execute(f"SELECT count(*) FROM products{clause}", params).fetchone()  # noqa: S608
        return int(total)


_MATCHES = "rowid IN (SELECT rowid FROM texts WHERE texts MATCH ?)"
_COUNT_MATCHES = "SELECT count(*) FROM texts WHERE texts MATCH ?"
_INSERT = "INSERT INTO products (id, name_key, category, price_cents, text) VALUES (?, ?, ?, ?, ?)"


def _row(product_id: str, entry: IndexEntry) -> tuple[str, str, str, int, str]:
    text = f"{entry.name} {entry.description} {entry.category}".lower()
    return product_id, entry.name.lower(), entry.category, entry.price_cents, text


def _conditions(query: ProductQuery) -> tuple[list[str], list[object]]:
    """The WHERE conditions (column names and placeholders only) and their values."""
    where: list[str] = []
    params: list[object] = []
    if query.category is not None:
        where.append("category = ?")
        params.append(query.category.lower())
    if query.min_price_cents is not None:
        where.append("price_cents >= ?")
        params.append(query.min_price_cents)
    if query.max_price_cents is not None:
        where.append("price_cents <= ?")
        params.append(query.max_price_cents)
    terms = (query.q or "").lower().split()
    indexed = [term for term in terms if len(term) >= 3]
    if indexed:
        # Each word a quoted FTS5 string: its own quotes doubled, nothing else special.
        match = " AND ".join('"' + term.replace('"', '""') + '"' for term in indexed)
        where.append(_MATCHES)
        params.append(match)
    for term in terms:
        if len(term) < 3:  # shorter than a trigram: a scan of what the rest left
            where.append("instr(text, ?) > 0")
            params.append(term)
    return where, params
