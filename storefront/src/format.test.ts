import { describe, expect, it } from "vitest";
import { catalogSearch, money, pageCount, parseCatalogQuery } from "./format";

describe("money", () => {
  it("formats cents in the shop's currency", () => {
    expect(money(4900, "EUR")).toBe("€49.00");
    expect(money(9300, "EUR")).toBe("€93.00");
    expect(money(5, "EUR")).toBe("€0.05");
  });
});

describe("the catalog query in the address", () => {
  it("round-trips", () => {
    const query = { q: "tea pot", category: "kitchen", page: 3 };
    expect(parseCatalogQuery(catalogSearch(query))).toEqual(query);
  });

  it("leaves defaults out of the address", () => {
    expect(catalogSearch({ q: "", category: "", page: 1 })).toBe("");
  });

  it("takes a page that is not a positive number as the first", () => {
    expect(parseCatalogQuery("?page=-2").page).toBe(1);
    expect(parseCatalogQuery("?page=abc").page).toBe(1);
  });
});

describe("pageCount", () => {
  it("has at least one page", () => {
    expect(pageCount(0, 12)).toBe(1);
    expect(pageCount(12, 12)).toBe(1);
    expect(pageCount(13, 12)).toBe(2);
  });
});
