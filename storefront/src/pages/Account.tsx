// Sign in (the gateway's OAuth2 password flow) and sign up (then signed in at once).
import { useState } from "preact/hooks";
import { Link, useLocation, useSearch } from "wouter-preact";
import { call } from "../api";
import { Alert, useTitle } from "../components";
import { Problem } from "../problem";
import { newSession, signIn } from "../session";
import { asProblem, useShop } from "../state";
import type { TokenAnswer } from "../types";

/** Where to go after signing in: a path of this site only, never another site. */
export function safeNext(search: string): string {
  const next = new URLSearchParams(search).get("next") ?? "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/signin") ? next : "/";
}

async function logIn(email: string, password: string): Promise<void> {
  const answer = await call<TokenAnswer>("POST", "/auth/token", {
    form: { grant_type: "password", username: email, password },
  });
  signIn(newSession(answer.access_token, email, answer.expires_in));
}

function useAccountForm(submit: (form: FormData) => Promise<void>) {
  const search = useSearch();
  const [, navigate] = useLocation();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await submit(new FormData(event.currentTarget as HTMLFormElement));
      navigate(safeNext(search), { replace: true });
    } catch (error) {
      setProblem(asProblem(error));
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, onSubmit, search };
}

export function SignIn() {
  useTitle("Sign in");
  const { notice, setNotice } = useShop();
  const { busy, problem, onSubmit, search } = useAccountForm(async (form) => {
    const email = String(form.get("email"));
    try {
      await logIn(email, String(form.get("password")));
    } catch (error) {
      if (error instanceof Problem && error.status === 401) {
        throw new Problem("input", "That e-mail address and password do not match an account.", 401);
      }
      throw error;
    }
    setNotice("");
  });
  return (
    <section class="account" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      {notice && !problem && (
        <div class="alert alert-session" role="alert">
          <p>{notice}</p>
        </div>
      )}
      <form onSubmit={onSubmit}>
        <label>
          E-mail address
          <input type="email" name="email" autoComplete="username" required maxLength={254} />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" required maxLength={128} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      <Alert problem={problem} />
      <p>
        New here? <Link href={`/signup${search ? `?${search}` : ""}`}>Create an account</Link>
      </p>
    </section>
  );
}

export function SignUp() {
  useTitle("Create an account");
  const { busy, problem, onSubmit, search } = useAccountForm(async (form) => {
    const email = String(form.get("email"));
    const password = String(form.get("password"));
    await call("POST", "/auth/register", { json: { email, password, name: String(form.get("name")) } });
    await logIn(email, password);
  });
  return (
    <section class="account" aria-labelledby="signup-title">
      <h1 id="signup-title">Create an account</h1>
      <form onSubmit={onSubmit}>
        <label>
          Name
          <input name="name" autoComplete="name" required maxLength={100} />
        </label>
        <label>
          E-mail address
          <input type="email" name="email" autoComplete="email" required maxLength={254} />
        </label>
        <label>
          Password <span class="hint">(at least 10 characters)</span>
          <input type="password" name="password" autoComplete="new-password" required minLength={10} maxLength={128} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Create account
        </button>
      </form>
      <Alert problem={problem} />
      <p>
        Have an account? <Link href={`/signin${search ? `?${search}` : ""}`}>Sign in</Link>
      </p>
    </section>
  );
}
