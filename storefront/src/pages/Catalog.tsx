import { useEffect, useState } from "preact/hooks";
import { Link, useLocation, useSearch } from "wouter-preact";
import { call } from "../api";
import { Alert, Loading, useTitle } from "../components";
import { catalogSearch, money, pageCount, parseCatalogQuery, type CatalogQuery } from "../format";
import type { Problem } from "../problem";
import { asProblem } from "../state";
import type { ProductPage } from "../types";
import { AddToCart } from "./AddToCart";

const PAGE_SIZE = 12;

export function Catalog() {
  useTitle("Catalog");
  const query = parseCatalogQuery(useSearch());
  const [, navigate] = useLocation();
  const [products, setProducts] = useState<ProductPage | null>(null);
  const [categories, setCategories] = useState<string[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    call<Record<string, number>>("GET", "/categories")
      .then((counts) => setCategories(Object.keys(counts).sort()))
      .catch(() => undefined); // the listing below shows the shop's state
  }, []);

  useEffect(() => {
    const params = new URLSearchParams({ page: String(query.page), page_size: String(PAGE_SIZE) });
    if (query.q) params.set("q", query.q);
    if (query.category) params.set("category", query.category);
    setProblem(null);
    call<ProductPage>("GET", `/products?${params}`)
      .then((page) => {
        setProducts(page);
        // The first page is usable: bench/storefront.py reads this mark.
        if (!performance.getEntriesByName("shop:catalog-ready").length) performance.mark("shop:catalog-ready");
      })
      .catch((error) => setProblem(asProblem(error)));
  }, [query.q, query.category, query.page]);

  const go = (next: Partial<CatalogQuery>) => navigate(`/${catalogSearch({ ...query, page: 1, ...next })}`);
  const pages = products ? pageCount(products.total, products.page_size) : 1;

  return (
    <section aria-labelledby="catalog-title">
      <h1 id="catalog-title">Catalog</h1>
      <form
        role="search"
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          go({ q: String(form.get("q") ?? "").trim(), category: String(form.get("category") ?? "") });
        }}
      >
        <label>
          Search products
          <input key={query.q} type="search" name="q" defaultValue={query.q} maxLength={200} />
        </label>
        <label>
          Category
          <select
            name="category"
            value={query.category}
            onChange={(event) => go({ category: event.currentTarget.value })}
          >
            <option value="">All categories</option>
            {categories.map((category) => (
              <option value={category}>{category}</option>
            ))}
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      <Alert problem={problem} />
      {!products && !problem && <Loading what="products" />}
      {products && (
        <>
          <p class="count" role="status">
            {products.total === 0
              ? "No products match. Try other words or another category."
              : `${products.total} product${products.total === 1 ? "" : "s"}`}
          </p>
          <ul class="products">
            {products.items.map((product) => (
              <li key={product.id} class="card">
                <h2>
                  <Link href={`/products/${product.id}`}>{product.name}</Link>
                </h2>
                <p class="description">{product.description}</p>
                <p class="price">{money(product.price_cents, product.currency)}</p>
                <p class={product.available > 0 ? "stock" : "stock sold-out"}>
                  {product.available > 0 ? `${product.available} in stock` : "Sold out"}
                </p>
                <AddToCart product={product} />
              </li>
            ))}
          </ul>
          {pages > 1 && (
            <nav class="pager" aria-label="Pages">
              <button type="button" disabled={query.page <= 1} onClick={() => go({ page: query.page - 1 })}>
                Previous page
              </button>
              <span>
                Page {query.page} of {pages}
              </span>
              <button type="button" disabled={query.page >= pages} onClick={() => go({ page: query.page + 1 })}>
                Next page
              </button>
            </nav>
          )}
        </>
      )}
    </section>
  );
}
