// What the pages say about an order's status (the order page and the history).
import { cancellationText } from "./problem";
import type { Order } from "./types";

type Shown = Pick<Order, "status" | "reason"> & Partial<Pick<Order, "shipment">>;

/** The sentence under the status on the order page. */
export function statusText(order: Shown): string {
  const parcel = order.shipment;
  switch (order.status) {
    case "pending":
      return "Waiting for the payment…";
    case "paid":
      return "Paid. A receipt is on its way to your inbox.";
    case "cancelled":
      return cancellationText(order.reason);
    case "shipped":
      // The status may come over the WebSocket a moment before the order is read again.
      return parcel ? `On its way — tracking ${parcel.tracking_number} (${parcel.carrier})` : "On its way";
    case "delivered":
      return parcel ? `Delivered — tracking ${parcel.tracking_number} (${parcel.carrier})` : "Delivered";
  }
}

/** The tracking number beside the status in the history, once shipped. */
export function trackingLabel(order: Shown): string {
  return order.shipment ? `tracking ${order.shipment.tracking_number}` : "";
}
