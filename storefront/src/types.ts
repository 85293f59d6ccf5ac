// The shapes of the gateway's answers (its OpenAPI at /docs), as far as the pages use them.

export interface Product {
  id: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
  currency: string;
  available: number;
}

export interface ProductPage {
  items: Product[];
  page: number;
  page_size: number;
  total: number;
}

export interface CartLine {
  product_id: string;
  name: string;
  quantity: number;
  unit_price_cents: number;
  line_total_cents: number;
}

export interface Cart {
  lines: CartLine[];
  total_cents: number;
  currency: string;
}

/** pending -> paid -> shipped -> delivered, or pending -> cancelled. */
export type OrderStatus = "pending" | "paid" | "cancelled" | "shipped" | "delivered";

export interface OrderLine {
  product_id: string;
  name: string;
  quantity: number;
  unit_price_cents: number;
}

/** The parcel, once shipped (services/orders/domain.py Shipment). */
export interface Shipment {
  tracking_number: string;
  carrier: string;
  shipped_at: string;
  delivered_at: string | null;
}

export interface Order {
  order_id: string;
  status: OrderStatus;
  lines: OrderLine[];
  total_cents: number;
  currency: string;
  card_last4: string;
  reason: string | null;
  /** null (or absent, from an older orders) until shipped. */
  shipment?: Shipment | null;
  created_at: string;
}

export interface TokenAnswer {
  access_token: string;
  expires_in: number;
}

/** One message of the order-status WebSocket (services/notifications/api.py). */
export interface StatusUpdate {
  order_id: string;
  status: OrderStatus;
  /** Sent with shipped and delivered. */
  tracking_number?: string;
}
