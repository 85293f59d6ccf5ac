"""The run's own products: unique ids per run, and less stock than the buyers want, so
that the last checkouts are refused (409) and the stock count is tight."""

import math

from tests.system.launcher import Sidecar
from tests.system.shopper import admin_put_product

# What a buyer takes: 1 or 2 of the run's products, one unit each (tests/chaos/buyers.py).
UNITS_PER_BUYER = 1.5


def stock_per_product(buyers: int, products: int, paying_share: float) -> int:
    """85% of what the paying buyers are expected to order, spread over the products:
    demand exceeds the stock, yet it lasts most of the run, through the faults."""
    wanted = buyers * paying_share * UNITS_PER_BUYER
    return max(1, math.floor(0.85 * wanted / products))


def create_products(
    catalog: Sidecar, admin_token: str, run_id: str, count: int, stock: int
) -> dict[str, int]:
    """Product id -> starting stock; written through the catalog's own sidecar, as an
    admin does (README)."""
    created = {}
    for number in range(count):
        product_id = f"chaos-{run_id}-{number}"
        admin_put_product(
            catalog,
            admin_token,
            product_id,
            name=f"Chaos {run_id} #{number}",
            category="chaos",
            price_cents=1000 + 250 * number,
            stock=stock,
        )
        created[product_id] = stock
    return created
