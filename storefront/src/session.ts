// Who is signed in: the gateway's access token (OAuth2 password flow), kept in
// localStorage so that a reload or a second tab stays signed in until it expires.

export interface Session {
  token: string;
  email: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const KEY = "shop.session";
type Listener = (session: Session | null, expired: boolean) => void;
const listeners = new Set<Listener>();

export function loadSession(storage: Pick<Storage, "getItem">, now = Date.now()): Session | null {
  try {
    const session = JSON.parse(storage.getItem(KEY) ?? "null") as Session | null;
    if (!session || typeof session.token !== "string" || typeof session.expiresAt !== "number") {
      return null;
    }
    return session.expiresAt > now ? session : null;
  } catch {
    return null;
  }
}

/** A session for `expiresIn` seconds, ended a little early so that no request is sent
 * with a token about to lapse on its way. */
export function newSession(token: string, email: string, expiresIn: number, now = Date.now()): Session {
  return { token, email, expiresAt: now + Math.max(expiresIn - 10, 1) * 1000 };
}

export function currentSession(): Session | null {
  return loadSession(localStorage);
}

export function signIn(session: Session): void {
  localStorage.setItem(KEY, JSON.stringify(session));
  listeners.forEach((listener) => listener(session, false));
}

/** `expired`: the shop refused the token, as opposed to the person signing out. */
export function signOut(expired = false): void {
  localStorage.removeItem(KEY);
  listeners.forEach((listener) => listener(null, expired));
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
