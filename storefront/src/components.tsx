import { useEffect } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { useLocation } from "wouter-preact";
import { Problem } from "./problem";
import { signInPath, useShop } from "./state";

/** A failure, in words, read out at once. */
export function Alert({ problem, children }: { problem: Problem | null; children?: ComponentChildren }) {
  if (!problem) return null;
  return (
    <div class={`alert alert-${problem.kind}`} role="alert">
      <p>{problem.message}</p>
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

/** Pages for signed-in people only: others are sent to sign in, and come back after. */
export function SignedIn({ children }: { children: ComponentChildren }) {
  const { session } = useShop();
  const [location, navigate] = useLocation();
  useEffect(() => {
    if (!session) navigate(signInPath(location), { replace: true });
  }, [session, location, navigate]);
  return session ? <>{children}</> : null;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · shop`;
  }, [title]);
}
