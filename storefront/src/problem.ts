// Every failure the pages show, in words a shopper can act on. The gateway answers every
// error as {"detail": string}, and invalid input (422) adds {"errors": [{loc, msg}, ...]}.

export type ProblemKind = "unavailable" | "session" | "stock" | "input" | "not-found" | "other";

export class Problem extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

export const UNAVAILABLE =
  "The shop is unavailable right now. Nothing was changed: please try again in a moment.";
export const SESSION_EXPIRED = "Your session has expired. Please sign in again.";

/** The problem an error answer describes. `signedIn`: the request carried a token. */
export function problemOf(status: number, body: unknown, signedIn: boolean): Problem {
  const detail = detailOf(body);
  if (status === 401) {
    return signedIn
      ? new Problem("session", SESSION_EXPIRED, status)
      : new Problem("session", detail ?? "Please sign in first.", status);
  }
  if (status === 409) return new Problem("stock", sentence(detail ?? "That is no longer possible."), status);
  if (status === 404) return new Problem("not-found", sentence(detail ?? "Not found."), status);
  if (status === 413 || status === 422 || status === 400) {
    return new Problem("input", sentence(detail ?? "Please check what you entered."), status);
  }
  if (status === 429) return new Problem("other", "Too many requests: please wait a second and try again.", status);
  if (status >= 500) return new Problem("unavailable", UNAVAILABLE, status);
  return new Problem("other", sentence(detail ?? `The shop answered ${status}.`), status);
}

function detailOf(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { detail, errors } = body as { detail?: unknown; errors?: unknown };
  // Invalid input: each field in the shopper's words rather than the summary in detail.
  if (Array.isArray(errors) && errors.length > 0) {
    return errors
      .map((error: { loc?: unknown[]; msg?: string }) => {
        const field = (error.loc ?? []).filter((part) => part !== "body").join(" ");
        return field ? `${field}: ${error.msg ?? "invalid"}` : (error.msg ?? "invalid");
      })
      .join("; ");
  }
  return typeof detail === "string" ? detail : undefined;
}

function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** What a payment failure reason (an order's `reason`) means to the buyer. */
export function cancellationText(reason: string | null): string {
  switch (reason) {
    case "card_declined":
      return "Your card was declined. Nothing was charged: try another card.";
    case "insufficient_funds":
      return "Your card was declined for insufficient funds. Nothing was charged.";
    case null:
    case "":
      return "This order was cancelled. Nothing was charged.";
    default:
      return `This order was cancelled (${reason.replaceAll("_", " ")}). Nothing was kept: any charge was refunded.`;
  }
}
