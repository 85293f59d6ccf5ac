import { useCallback, useEffect, useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { call } from "../api";
import { Alert, Loading, useTitle } from "../components";
import { money, when } from "../format";
import { advance, watchOrders, type Connection } from "../orderUpdates";
import { statusText } from "../orderStatus";
import type { Problem } from "../problem";
import { signOut } from "../session";
import { asProblem, useShop } from "../state";
import type { Order } from "../types";

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: "connecting to live updates…",
  live: "live",
  retrying: "reconnecting…",
  refused: "off",
};

export function OrderDetail({ id }: { id: string }) {
  useTitle("Your order");
  const { session, refreshCart } = useShop();
  const [order, setOrder] = useState<Order | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [connection, setConnection] = useState<Connection>("connecting");

  const read = useCallback(() => {
    call<Order>("GET", `/orders/${encodeURIComponent(id)}`)
      .then((fresh) => setOrder((known) => (known ? { ...fresh, status: advance(known.status, fresh.status) } : fresh)))
      .catch((error) => setProblem(asProblem(error)));
  }, [id]);

  useEffect(() => {
    if (!session) return;
    // Watch first, then read: a change between the two is then never missed (the read
    // on every connection covers what happened while the socket was away).
    return watchOrders(
      session.token,
      (update) => {
        if (update.order_id !== id) return;
        setOrder((known) => (known ? { ...known, status: advance(known.status, update.status) } : known));
        // The reason of a cancellation, the shipment, and the emptied cart come with a
        // fresh read.
        if (update.status !== "pending") {
          read();
          refreshCart().catch(() => undefined);
        }
      },
      (state) => {
        setConnection(state);
        if (state === "refused") signOut(true);
      },
      read,
    );
  }, [session, id, read, refreshCart]);

  if (problem) {
    return (
      <Alert problem={problem}>
        <Link href="/orders">Your orders</Link>
      </Alert>
    );
  }
  if (!order) return <Loading what="your order" />;
  return (
    <article aria-labelledby="order-title">
      <h1 id="order-title">Order {order.order_id.slice(0, 8)}</h1>
      <p class="meta">
        Placed {when(order.created_at)}, card ending {order.card_last4}
      </p>
      <div class={`status status-${order.status}`} role="status" aria-live="polite">
        <p>
          Status: <strong data-testid="order-status">{order.status}</strong>
        </p>
        <p>{statusText(order)}</p>
      </div>
      <p class="connection">Live updates: {CONNECTION_TEXT[connection]}</p>
      <ul class="summary" aria-label="Ordered">
        {order.lines.map((line) => (
          <li key={line.product_id}>
            {line.quantity} × {line.name} <span>{money(line.unit_price_cents * line.quantity, order.currency)}</span>
          </li>
        ))}
      </ul>
      <p class="total">
        Total: <strong>{money(order.total_cents, order.currency)}</strong>
      </p>
      <p>
        <Link href="/orders">All your orders</Link> · <Link href="/">Keep shopping</Link>
      </p>
    </article>
  );
}
