// What every page shares: who is signed in, their cart, and a polite announcement line
// for screen readers (and everyone) after an action that does not change the page.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { useLocation } from "wouter-preact";
import { call } from "./api";
import { Problem, SESSION_EXPIRED } from "./problem";
import { currentSession, onSessionChange, type Session } from "./session";
import type { Cart } from "./types";

interface Shop {
  session: Session | null;
  cart: Cart | null;
  refreshCart: () => Promise<void>;
  /** Set `quantity` of a product (adding to what the cart holds when `add`). */
  putInCart: (productId: string, quantity: number, add?: boolean) => Promise<Cart>;
  removeFromCart: (productId: string) => Promise<void>;
  announcement: string;
  announce: (text: string) => void;
  /** Shown once on the sign-in page: why the person was sent there. */
  notice: string;
  setNotice: (text: string) => void;
}

const ShopContext = createContext<Shop | null>(null);

export function useShop(): Shop {
  const shop = useContext(ShopContext);
  if (!shop) throw new Error("useShop outside <ShopProvider>");
  return shop;
}

export function signInPath(next: string): string {
  return `/signin?next=${encodeURIComponent(next)}`;
}

export function ShopProvider({ children }: { children: ComponentChildren }) {
  const [session, setSession] = useState(currentSession);
  const [cart, setCart] = useState<Cart | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const [notice, setNotice] = useState("");
  const [location, navigate] = useLocation();

  useEffect(
    () =>
      onSessionChange((next, expired) => {
        setSession(next);
        if (next) return;
        setCart(null);
        if (expired) {
          setNotice(SESSION_EXPIRED);
          if (!location.startsWith("/signin")) navigate(signInPath(location));
        }
      }),
    [location, navigate],
  );

  // Answers can overtake each other: a read sent before a change may come back after it.
  // Only an answer to a later request than the one shown replaces the cart.
  const sent = useRef(0);
  const shown = useRef(0);
  const cartCall = useCallback(async (method: string, path: string, json?: unknown) => {
    const number = ++sent.current;
    const answer = await call<Cart>(method, path, { json });
    if (number > shown.current) {
      shown.current = number;
      setCart(answer);
    }
    return answer;
  }, []);

  const refreshCart = useCallback(async () => {
    if (!currentSession()) return setCart(null);
    await cartCall("GET", "/cart");
  }, [cartCall]);

  useEffect(() => {
    refreshCart().catch(() => undefined); // the cart page shows its own errors
  }, [session, refreshCart]);

  const putInCart = useCallback(
    async (productId: string, quantity: number, add = false) => {
      let total = quantity;
      if (add) {
        const held = (await cartCall("GET", "/cart")).lines.find((line) => line.product_id === productId);
        total += held?.quantity ?? 0;
      }
      return cartCall("PUT", `/cart/items/${encodeURIComponent(productId)}`, { quantity: total });
    },
    [cartCall],
  );

  const removeFromCart = useCallback(
    async (productId: string) => {
      await call<void>("DELETE", `/cart/items/${encodeURIComponent(productId)}`);
      await cartCall("GET", "/cart");
    },
    [cartCall],
  );

  const announce = useCallback((text: string) => {
    // Cleared first so that the same words twice are read twice.
    setAnnouncement("");
    setTimeout(() => setAnnouncement(text), 50);
  }, []);

  const shop = useMemo(
    () => ({ session, cart, refreshCart, putInCart, removeFromCart, announcement, announce, notice, setNotice }),
    [session, cart, refreshCart, putInCart, removeFromCart, announcement, announce, notice],
  );
  return <ShopContext.Provider value={shop}>{children}</ShopContext.Provider>;
}

/** The problem to show for anything a page's action threw. */
export function asProblem(error: unknown): Problem {
  return error instanceof Problem ? error : new Problem("other", "Something went wrong in this page: please reload it.");
}
