import { useEffect, useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { call } from "../api";
import { Alert, Loading, useTitle } from "../components";
import { money, when } from "../format";
import { trackingLabel } from "../orderStatus";
import type { Problem } from "../problem";
import { asProblem } from "../state";
import type { Order } from "../types";

export function Orders() {
  useTitle("Your orders");
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    call<Order[]>("GET", "/orders")
      .then(setOrders)
      .catch((error) => setProblem(asProblem(error)));
  }, []);

  return (
    <section aria-labelledby="orders-title">
      <h1 id="orders-title">Your orders</h1>
      <Alert problem={problem} />
      {!orders && !problem && <Loading what="your orders" />}
      {orders && orders.length === 0 && (
        <p>
          No orders yet. <Link href="/">Browse the catalog</Link>.
        </p>
      )}
      {orders && orders.length > 0 && (
        <table class="lines">
          <caption class="visually-hidden">Your orders, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Placed</th>
              <th scope="col">Items</th>
              <th scope="col">Total</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {orders.map((order) => (
              <tr key={order.order_id}>
                <th scope="row">
                  <Link href={`/orders/${order.order_id}`}>Order {order.order_id.slice(0, 8)}</Link>
                </th>
                <td>{when(order.created_at)}</td>
                <td>{order.lines.reduce((count, line) => count + line.quantity, 0)}</td>
                <td>{money(order.total_cents, order.currency)}</td>
                <td>
                  <span class={`badge status-${order.status}`}>{order.status}</span>
                  {order.shipment && <span class="tracking">{trackingLabel(order)}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
