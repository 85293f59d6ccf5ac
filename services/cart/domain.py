"""Carts: the rules, free of I/O. A stored cart holds only product ids and quantities;
prices and names are joined in from the catalog when the cart is read."""

from collections.abc import Mapping

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from shop_contracts.cart import Cart, CartLine
from shop_contracts.catalog import PricedProduct
from shop_contracts.common import CURRENCY, Cents, ProductId, Quantity

MAX_LINES = 50

_CENTS = TypeAdapter(Cents)


class TooManyLines(ValueError):
    pass


class NotEnoughStock(ValueError):
    pass


class CartTooExpensive(ValueError):
    pass


class CartContents(BaseModel):
    """What the state store keeps under `cart:{user_id}`. Dicts keep insertion order, so
    lines are listed in the order they were first added."""

    quantities: dict[ProductId, Quantity] = Field(default_factory=dict)

    def with_quantity(self, product_id: str, quantity: int) -> "CartContents":
        if product_id not in self.quantities and len(self.quantities) >= MAX_LINES:
            raise TooManyLines(
                f"a cart holds at most {MAX_LINES} different products: "
                f"remove one before adding '{product_id}'"
            )
        return CartContents(quantities={**self.quantities, product_id: quantity})

    def without(self, product_id: str) -> "CartContents":
        """Itself when it has no such line: there is nothing to write."""
        if product_id not in self.quantities:
            return self
        return CartContents(
            quantities={p: q for p, q in self.quantities.items() if p != product_id}
        )


def ensure_available(product: PricedProduct, quantity: int) -> None:
    if quantity > product.available:
        raise NotEnoughStock(
            f"only {product.available} of product '{product.id}' available, {quantity} requested"
        )


def price(user_id: str, contents: CartContents, products: Mapping[str, PricedProduct]) -> Cart:
    """The cart at today's prices. Lines whose product the catalog no longer has are left
    out: they cannot be bought, and the contract has no field to flag them."""
    lines = [
        CartLine(
            product_id=product_id,
            name=product.name,
            quantity=quantity,
            unit_price_cents=product.price_cents,
            line_total_cents=_amount(product.price_cents * quantity),
        )
        for product_id, quantity in contents.quantities.items()
        if (product := products.get(product_id)) is not None
    ]
    total = _amount(sum(line.line_total_cents for line in lines))
    return Cart(user_id=user_id, lines=lines, total_cents=total, currency=CURRENCY)


def _amount(cents: int) -> int:
    # Big prices times big quantities can leave the contract's range; say so rather
    # than fail while building the response.
    try:
        return _CENTS.validate_python(cents)
    except ValidationError:
        raise CartTooExpensive(
            f"the cart's total of {cents} cents is more than one order can hold: "
            "lower a quantity or remove a line"
        ) from None
