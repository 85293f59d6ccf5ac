import { describe, expect, it } from "vitest";
import { advance, backoff, parseUpdate } from "./orderUpdates";

describe("advance", () => {
  it("moves a pending order to its outcome", () => {
    expect(advance("pending", "paid")).toBe("paid");
    expect(advance("pending", "cancelled")).toBe("cancelled");
  });

  it("never goes back when pending arrives late", () => {
    expect(advance("paid", "pending")).toBe("paid");
    expect(advance("cancelled", "pending")).toBe("cancelled");
  });

  it("follows a paid order through shipped to delivered", () => {
    expect(advance("paid", "shipped")).toBe("shipped");
    expect(advance("shipped", "delivered")).toBe("delivered");
    // delivered may come before shipped (two topics at shipping): straight on.
    expect(advance("paid", "delivered")).toBe("delivered");
    expect(advance("pending", "shipped")).toBe("shipped");
  });

  it("ranks pending < paid | cancelled < shipped < delivered, never going back", () => {
    const order = ["pending", "paid", "shipped", "delivered"] as const;
    order.forEach((earlier, i) => {
      for (const later of order.slice(i + 1)) {
        expect(advance(earlier, later)).toBe(later);
        expect(advance(later, earlier)).toBe(later);
      }
    });
    expect(advance("delivered", "shipped")).toBe("delivered");
    expect(advance("shipped", "paid")).toBe("shipped");
    expect(advance("shipped", "cancelled")).toBe("shipped");
    expect(advance("paid", "cancelled")).toBe("paid");
    expect(advance("delivered", "delivered")).toBe("delivered");
  });
});

describe("parseUpdate", () => {
  it("reads the notifications protocol", () => {
    const text = JSON.stringify({ order_id: "o1", status: "paid", total_cents: 100, currency: "EUR" });
    expect(parseUpdate(text)).toEqual({ order_id: "o1", status: "paid" });
  });

  it("reads shipped and delivered with their tracking number", () => {
    const shipped = JSON.stringify({ order_id: "o1", status: "shipped", tracking_number: "SHP-1", total_cents: 1 });
    expect(parseUpdate(shipped)).toEqual({ order_id: "o1", status: "shipped", tracking_number: "SHP-1" });
    expect(parseUpdate(JSON.stringify({ order_id: "o1", status: "delivered" }))).toEqual({
      order_id: "o1",
      status: "delivered",
    });
  });

  it("ignores what it cannot use", () => {
    expect(parseUpdate("not json")).toBeNull();
    expect(parseUpdate(JSON.stringify({ order_id: "o1", status: "refunded" }))).toBeNull();
    expect(parseUpdate(JSON.stringify({ order_id: "o1", status: "toString" }))).toBeNull();
    expect(parseUpdate(JSON.stringify({ status: "paid" }))).toBeNull();
  });
});

describe("backoff", () => {
  it("grows, and is capped at five seconds", () => {
    expect(backoff(0)).toBe(250);
    expect(backoff(1)).toBe(500);
    expect(backoff(10)).toBe(5000);
  });
});
