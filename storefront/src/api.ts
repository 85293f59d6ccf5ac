// The only way the pages reach the shop: the gateway's public API, same origin.
import { Problem, problemOf, UNAVAILABLE } from "./problem";
import { currentSession, signOut } from "./session";

/** Every request has a deadline: a shop that does not answer is shown as unavailable. */
const DEADLINE_MS = 15_000;

interface Options {
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** Ask the catalog itself rather than the gateway's cache. */
  fresh?: boolean;
}

export async function call<T>(method: string, path: string, options: Options = {}): Promise<T> {
  const session = currentSession();
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (options.fresh) headers["Cache-Control"] = "no-cache";
  let body: string | undefined;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  }
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
  } catch {
    throw new Problem("unavailable", UNAVAILABLE);
  }
  if (response.status === 204) return undefined as T;
  const answer: unknown = await response.json().catch(() => null);
  if (response.ok) return answer as T;
  const problem = problemOf(response.status, answer, session !== null);
  if (problem.kind === "session" && session) signOut(true);
  throw problem;
}
