import { useEffect, useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import { call } from "../api";
import { Alert, Loading, useTitle } from "../components";
import { money } from "../format";
import { Problem } from "../problem";
import { asProblem, useShop } from "../state";
import type { Order } from "../types";

/** Test cards of the simulated provider (README). */
const TEST_CARDS: [string, string][] = [
  ["4242 4242 4242 4242", "pays"],
  ["4000 0000 0000 0002", "is declined"],
  ["4000 0000 0000 3220", "asks the bank to confirm, then pays"],
];

export function cardNumber(text: string): string | null {
  const digits = text.replace(/[\s-]/g, "");
  return /^[0-9]{12,19}$/.test(digits) ? digits : null;
}

export function Checkout() {
  useTitle("Checkout");
  const { cart, refreshCart } = useShop();
  const [, navigate] = useLocation();
  const [card, setCard] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  // One key per attempt: sending the order again after a lost answer cannot place a second
  // one (the shop answers the first), while a new attempt after a refusal gets a new key.
  const [attempt, setAttempt] = useState(() => crypto.randomUUID());

  useEffect(() => {
    refreshCart().catch((error) => setProblem(asProblem(error)));
  }, [refreshCart]);

  const placeOrder = async (event: Event) => {
    event.preventDefault();
    const token = cardNumber(card);
    if (!token) {
      setProblem(new Problem("input", "A card number has 12 to 19 digits, for example 4242 4242 4242 4242."));
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const order = await call<Order>("POST", "/orders", {
        json: { payment_token: token },
        headers: { "Idempotency-Key": attempt },
      });
      navigate(`/orders/${order.order_id}`);
    } catch (error) {
      const problem = asProblem(error);
      // Unavailable: the order may or may not be placed; the same key asks again safely.
      if (problem.kind !== "unavailable") setAttempt(crypto.randomUUID());
      setProblem(problem);
      if (problem.kind === "stock") refreshCart().catch(() => undefined);
    } finally {
      setBusy(false);
    }
  };

  if (!cart && !problem) return <Loading what="your cart" />;
  return (
    <section aria-labelledby="checkout-title">
      <h1 id="checkout-title">Checkout</h1>
      {cart && cart.lines.length === 0 && !problem && (
        <p>
          Your cart is empty. <Link href="/">Browse the catalog</Link>.
        </p>
      )}
      {cart && cart.lines.length > 0 && (
        <>
          <ul class="summary" aria-label="What you are buying">
            {cart.lines.map((line) => (
              <li key={line.product_id}>
                {line.quantity} × {line.name} <span>{money(line.line_total_cents, cart.currency)}</span>
              </li>
            ))}
          </ul>
          <p class="total">
            To pay: <strong>{money(cart.total_cents, cart.currency)}</strong>
          </p>
          <form class="pay" onSubmit={placeOrder} aria-describedby="test-cards">
            <label>
              Card number
              <input
                name="card"
                inputMode="numeric"
                autoComplete="cc-number"
                required
                value={card}
                onInput={(event) => setCard(event.currentTarget.value)}
              />
            </label>
            <button type="submit" class="primary" disabled={busy}>
              {busy ? "Placing your order…" : `Pay ${money(cart.total_cents, cart.currency)} and place order`}
            </button>
          </form>
          <div id="test-cards" class="hint">
            <p>This shop's payment provider is simulated. Test cards:</p>
            <ul>
              {TEST_CARDS.map(([number, what]) => (
                <li key={number}>
                  <code>{number}</code> {what}
                </li>
              ))}
            </ul>
          </div>
        </>
      )}
      <Alert problem={problem}>
        {problem?.kind === "stock" && <Link href="/cart">Review your cart</Link>}
      </Alert>
    </section>
  );
}
