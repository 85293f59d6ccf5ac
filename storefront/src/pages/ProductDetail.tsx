import { useEffect, useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { call } from "../api";
import { Alert, Loading, useTitle } from "../components";
import { money } from "../format";
import type { Problem } from "../problem";
import { asProblem } from "../state";
import type { Product } from "../types";
import { AddToCart } from "./AddToCart";

export function ProductDetail({ id }: { id: string }) {
  const [product, setProduct] = useState<Product | null>(null);
  const [quantity, setQuantity] = useState(1);
  const [problem, setProblem] = useState<Problem | null>(null);
  useTitle(product?.name ?? "Product");

  useEffect(() => {
    setProblem(null);
    call<Product>("GET", `/products/${encodeURIComponent(id)}`)
      .then(setProduct)
      .catch((error) => setProblem(asProblem(error)));
  }, [id]);

  if (problem) {
    return (
      <Alert problem={problem}>
        <Link href="/">Back to the catalog</Link>
      </Alert>
    );
  }
  if (!product) return <Loading what="the product" />;
  return (
    <article class="product">
      <p>
        <Link href={`/?category=${encodeURIComponent(product.category)}`}>{product.category}</Link>
      </p>
      <h1>{product.name}</h1>
      <p class="description">{product.description}</p>
      <p class="price">{money(product.price_cents, product.currency)}</p>
      <p class={product.available > 0 ? "stock" : "stock sold-out"}>
        {product.available > 0 ? `${product.available} in stock` : "Sold out"}
      </p>
      <label>
        Quantity
        <input
          type="number"
          min={1}
          max={Math.max(1, Math.min(product.available, 1000))}
          value={quantity}
          onInput={(event) => setQuantity(Math.max(1, Number.parseInt(event.currentTarget.value, 10) || 1))}
        />
      </label>
      <AddToCart product={product} quantity={quantity} />
    </article>
  );
}
