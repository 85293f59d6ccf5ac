import { describe, expect, it } from "vitest";
import { statusText, trackingLabel } from "./orderStatus";
import type { Shipment } from "./types";

const PARCEL: Shipment = {
  tracking_number: "SHP-4F2A9C01",
  carrier: "DHL",
  shipped_at: "2026-01-05T10:00:00Z",
  delivered_at: null,
};

describe("statusText", () => {
  it("says where the order is before shipping", () => {
    expect(statusText({ status: "pending", reason: null })).toBe("Waiting for the payment…");
    expect(statusText({ status: "paid", reason: null, shipment: null })).toBe(
      "Paid. A receipt is on its way to your inbox.",
    );
    expect(statusText({ status: "cancelled", reason: "card_declined" })).toMatch(/declined/);
  });

  it("gives the tracking number once shipped", () => {
    expect(statusText({ status: "shipped", reason: null, shipment: PARCEL })).toBe(
      "On its way — tracking SHP-4F2A9C01 (DHL)",
    );
  });

  it("says delivered, with the tracking number", () => {
    const delivered = { ...PARCEL, delivered_at: "2026-01-07T15:30:00Z" };
    expect(statusText({ status: "delivered", reason: null, shipment: delivered })).toBe(
      "Delivered — tracking SHP-4F2A9C01 (DHL)",
    );
  });

  it("says what it can when the status came live before the order was read again", () => {
    expect(statusText({ status: "shipped", reason: null, shipment: null })).toBe("On its way");
    expect(statusText({ status: "delivered", reason: null })).toBe("Delivered");
  });
});

describe("trackingLabel", () => {
  it("shows the tracking number in the history once shipped", () => {
    expect(trackingLabel({ status: "shipped", reason: null, shipment: PARCEL })).toBe("tracking SHP-4F2A9C01");
    expect(trackingLabel({ status: "paid", reason: null, shipment: null })).toBe("");
    expect(trackingLabel({ status: "pending", reason: null })).toBe("");
  });
});
