// Live order statuses from the WebSocket the gateway relays (/ws/orders): one message
// per status change of any of the signed-in person's orders.
import type { OrderStatus, StatusUpdate } from "./types";

// How far each status is in an order's life: pending < paid | cancelled < shipped < delivered.
const RANK: Record<OrderStatus, number> = { pending: 0, paid: 1, cancelled: 1, shipped: 2, delivered: 3 };

/** A status never goes back: `pending` arriving after `paid`, or `shipped` after
 * `delivered`, changes nothing. */
export function advance(current: OrderStatus, incoming: OrderStatus): OrderStatus {
  return RANK[incoming] > RANK[current] ? incoming : current;
}

export function parseUpdate(text: string): StatusUpdate | null {
  try {
    const update = JSON.parse(text) as Partial<StatusUpdate>;
    if (typeof update.order_id === "string" && update.status && Object.hasOwn(RANK, update.status)) {
      const parsed: StatusUpdate = { order_id: update.order_id, status: update.status };
      if (typeof update.tracking_number === "string") parsed.tracking_number = update.tracking_number;
      return parsed;
    }
  } catch {
    // not an update: ignored, as the protocol says
  }
  return null;
}

export type Connection = "connecting" | "live" | "retrying" | "refused";

/** Reconnect delays, ms: quick at first, then every few seconds. */
export function backoff(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 5_000);
}

/** Watch the person's orders until the returned function is called. `onOpen` runs on
 * every (re)connection: the page re-reads the order then, since updates sent while it was
 * away are not replayed. Close code 1008 means the token was refused: no retry. */
export function watchOrders(
  token: string,
  onUpdate: (update: StatusUpdate) => void,
  onConnection: (state: Connection) => void,
  onOpen: () => void,
): () => void {
  let socket: WebSocket | null = null;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/ws/orders?token=${encodeURIComponent(token)}`;

  const connect = () => {
    onConnection(attempt === 0 ? "connecting" : "retrying");
    socket = new WebSocket(url);
    socket.onopen = () => {
      attempt = 0;
      onConnection("live");
      onOpen();
    };
    socket.onmessage = (event) => {
      const update = typeof event.data === "string" ? parseUpdate(event.data) : null;
      if (update) onUpdate(update);
    };
    socket.onclose = (event) => {
      if (stopped) return;
      if (event.code === 1008) {
        onConnection("refused");
        return;
      }
      onConnection("retrying");
      timer = setTimeout(connect, backoff(attempt++));
    };
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close();
  };
}
