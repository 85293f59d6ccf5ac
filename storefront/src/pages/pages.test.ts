import { describe, expect, it } from "vitest";
import { safeNext } from "./Account";
import { cardNumber } from "./Checkout";

describe("safeNext: where signing in leads", () => {
  it("follows a path of this site", () => {
    expect(safeNext("next=%2Fcart")).toBe("/cart");
    expect(safeNext("next=%2Forders%2Fabc")).toBe("/orders/abc");
  });

  it("never leaves the site or loops back to sign in", () => {
    expect(safeNext("next=https%3A%2F%2Fevil.example")).toBe("/");
    expect(safeNext("next=%2F%2Fevil.example")).toBe("/");
    expect(safeNext("next=%2Fsignin")).toBe("/");
    expect(safeNext("")).toBe("/");
  });
});

describe("cardNumber", () => {
  it("takes digits with spaces or dashes", () => {
    expect(cardNumber("4242 4242 4242 4242")).toBe("4242424242424242");
    expect(cardNumber("4000-0000-0000-0002")).toBe("4000000000000002");
  });

  it("refuses what the gateway would refuse", () => {
    expect(cardNumber("4242")).toBeNull();
    expect(cardNumber("4242 4242 4242 424x")).toBeNull();
    expect(cardNumber("42424242424242424242")).toBeNull();
  });
});
