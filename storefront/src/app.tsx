import { useEffect, useRef } from "preact/hooks";
import { Link, Route, Switch, useLocation } from "wouter-preact";
import { SignedIn } from "./components";
import { Cart } from "./pages/Cart";
import { Catalog } from "./pages/Catalog";
import { Checkout } from "./pages/Checkout";
import { OrderDetail } from "./pages/OrderDetail";
import { Orders } from "./pages/Orders";
import { ProductDetail } from "./pages/ProductDetail";
import { SignIn, SignUp } from "./pages/Account";
import { signOut } from "./session";
import { ShopProvider, useShop } from "./state";

export function App() {
  return (
    <ShopProvider>
      <Layout />
    </ShopProvider>
  );
}

function Layout() {
  const { session, cart, announcement } = useShop();
  const [location] = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const count = cart?.lines.reduce((sum, line) => sum + line.quantity, 0) ?? 0;

  // A new page: move the focus to it, as a page load would, so that keyboard and screen
  // reader users start at its content.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [location]);

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Main">
          <Link class="brand" href="/">
            shop
          </Link>
          <Link href="/">Catalog</Link>
          {session && <Link href="/orders">Orders</Link>}
          <Link href="/cart" aria-label={`Cart, ${count} item${count === 1 ? "" : "s"}`}>
            Cart <span class="badge">{count}</span>
          </Link>
          {session ? (
            <span class="who">
              {session.email}{" "}
              <button type="button" class="link" onClick={() => signOut()}>
                Sign out
              </button>
            </span>
          ) : (
            <Link href="/signin">Sign in</Link>
          )}
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Switch>
          <Route path="/" component={Catalog} />
          <Route path="/products/:id">{(params) => <ProductDetail id={params.id} />}</Route>
          <Route path="/signin" component={SignIn} />
          <Route path="/signup" component={SignUp} />
          <Route path="/cart">
            <SignedIn>
              <Cart />
            </SignedIn>
          </Route>
          <Route path="/checkout">
            <SignedIn>
              <Checkout />
            </SignedIn>
          </Route>
          <Route path="/orders">
            <SignedIn>
              <Orders />
            </SignedIn>
          </Route>
          <Route path="/orders/:id">
            {(params) => (
              <SignedIn>
                <OrderDetail id={params.id} />
              </SignedIn>
            )}
          </Route>
          <Route>
            <section>
              <h1>Page not found</h1>
              <p>
                There is no page at this address. <Link href="/">Go to the catalog</Link>.
              </p>
            </section>
          </Route>
        </Switch>
      </main>
      <div class="announcer" role="status" aria-live="polite">
        {announcement}
      </div>
      <footer>
        <p>
          A reference shop on Dapr sidecars. The API: <a href="/docs">/docs</a>.
        </p>
      </footer>
    </>
  );
}
