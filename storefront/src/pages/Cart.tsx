import { useEffect, useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { Alert, Loading, useTitle } from "../components";
import { money } from "../format";
import { Problem } from "../problem";
import { asProblem, useShop } from "../state";
import type { Cart as CartModel, CartLine } from "../types";

export function Cart() {
  useTitle("Your cart");
  const { cart, refreshCart } = useShop();
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    refreshCart().catch((error) => setProblem(asProblem(error)));
  }, [refreshCart]);

  return (
    <section aria-labelledby="cart-title">
      <h1 id="cart-title">Your cart</h1>
      <Alert problem={problem} />
      {!cart && !problem && <Loading what="your cart" />}
      {cart && <CartLines cart={cart} onProblem={setProblem} />}
    </section>
  );
}

function CartLines({ cart, onProblem }: { cart: CartModel; onProblem: (problem: Problem | null) => void }) {
  if (cart.lines.length === 0) {
    return (
      <p>
        Your cart is empty. <Link href="/">Browse the catalog</Link>.
      </p>
    );
  }
  return (
    <>
      <table class="lines">
        <caption class="visually-hidden">Products in your cart, priced by the shop now</caption>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Unit price</th>
            <th scope="col">Quantity</th>
            <th scope="col">Total</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {cart.lines.map((line) => (
            <Line key={line.product_id} line={line} currency={cart.currency} onProblem={onProblem} />
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={3}>
              Total
            </th>
            <td class="total">{money(cart.total_cents, cart.currency)}</td>
            <td />
          </tr>
        </tfoot>
      </table>
      <p class="actions">
        <Link class="button primary" href="/checkout">
          Check out
        </Link>
      </p>
    </>
  );
}

function Line({ line, currency, onProblem }: { line: CartLine; currency: string; onProblem: (p: Problem | null) => void }) {
  const { putInCart, removeFromCart, announce } = useShop();
  const [busy, setBusy] = useState(false);
  // What the person is typing: a fresh read of the same cart must not overwrite it (a
  // controlled input would be reset to the shop's quantity by any re-render).
  const [draft, setDraft] = useState(String(line.quantity));
  useEffect(() => setDraft(String(line.quantity)), [line.quantity]);

  const act = async (action: () => Promise<void>) => {
    setBusy(true);
    onProblem(null);
    try {
      await action();
    } catch (error) {
      onProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  };

  const setQuantity = (value: string) => {
    const quantity = Number.parseInt(value, 10);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1000) {
      onProblem(new Problem("input", "A quantity is a whole number from 1 to 1000."));
      return;
    }
    if (quantity === line.quantity) return;
    return act(async () => {
      await putInCart(line.product_id, quantity);
      announce(`${line.name}: quantity ${quantity}.`);
    });
  };

  const remove = () =>
    act(async () => {
      await removeFromCart(line.product_id);
      announce(`Removed ${line.name} from your cart.`);
    });

  return (
    <tr>
      <th scope="row">
        <Link href={`/products/${line.product_id}`}>{line.name}</Link>
      </th>
      <td>{money(line.unit_price_cents, currency)}</td>
      <td>
        <input
          type="number"
          min={1}
          max={1000}
          value={draft}
          disabled={busy}
          aria-label={`Quantity of ${line.name}`}
          onInput={(event) => setDraft(event.currentTarget.value)}
          onChange={(event) => setQuantity(event.currentTarget.value)}
        />
      </td>
      <td>{money(line.line_total_cents, currency)}</td>
      <td>
        <button type="button" disabled={busy} onClick={remove} aria-label={`Remove ${line.name}`}>
          Remove
        </button>
      </td>
    </tr>
  );
}
