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
});

describe("parseUpdate", () => {
  it("reads the notifications protocol", () => {
    const text = JSON.stringify({ order_id: "o1", status: "paid", total_cents: 100, currency: "EUR" });
    expect(parseUpdate(text)).toEqual({ order_id: "o1", status: "paid" });
  });

  it("ignores what it cannot use", () => {
    expect(parseUpdate("not json")).toBeNull();
    expect(parseUpdate(JSON.stringify({ order_id: "o1", status: "shipped" }))).toBeNull();
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
