import { useState } from "preact/hooks";
import { useLocation } from "wouter-preact";
import { Alert } from "../components";
import type { Problem } from "../problem";
import { asProblem, signInPath, useShop } from "../state";
import type { Product } from "../types";

/** Adds `quantity` more of the product; people who are not signed in sign in first. */
export function AddToCart({ product, quantity = 1 }: { product: Product; quantity?: number }) {
  const { session, putInCart, announce } = useShop();
  const [location, navigate] = useLocation();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const soldOut = product.available <= 0;

  const add = async () => {
    if (!session) return navigate(signInPath(location));
    setBusy(true);
    setProblem(null);
    try {
      const cart = await putInCart(product.id, quantity, true);
      const held = cart.lines.find((line) => line.product_id === product.id)?.quantity ?? quantity;
      announce(`Added ${product.name} to your cart (${held} in it).`);
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {/* The name holds the visible words, then the product: axe's label-content-name-mismatch. */}
      <button
        type="button"
        class="primary"
        disabled={soldOut || busy}
        onClick={add}
        aria-label={`${soldOut ? "Sold out" : "Add to cart"}: ${product.name}`}
      >
        {soldOut ? "Sold out" : "Add to cart"}
      </button>
      <Alert problem={problem} />
    </>
  );
}
