import { describe, expect, it } from "vitest";
import { cancellationText, problemOf, SESSION_EXPIRED, UNAVAILABLE } from "./problem";

describe("problemOf", () => {
  it("says a refused token is an expired session when one was sent", () => {
    const problem = problemOf(401, { detail: "invalid token: token expired" }, true);
    expect(problem.kind).toBe("session");
    expect(problem.message).toBe(SESSION_EXPIRED);
  });

  it("asks to sign in when no token was sent", () => {
    expect(problemOf(401, { detail: "not authenticated" }, false).message).toBe("not authenticated");
  });

  it("words a stock refusal as a sentence", () => {
    const problem = problemOf(409, { detail: "only 0 of product 'vase' available" }, true);
    expect(problem.kind).toBe("stock");
    expect(problem.message).toBe("Only 0 of product 'vase' available.");
  });

  it("names the fields of invalid input", () => {
    const body = {
      detail: "invalid input: body.password: String should have at least 10 characters; ...",
      errors: [
        { loc: ["body", "password"], msg: "String should have at least 10 characters" },
        { loc: ["body", "email"], msg: "Field required" },
      ],
    };
    expect(problemOf(422, body, false).message).toBe(
      "Password: String should have at least 10 characters; email: Field required.",
    );
  });

  it("shows any server failure as the shop being unavailable, never its body", () => {
    for (const status of [500, 502, 503, 504]) {
      const problem = problemOf(status, { detail: "Traceback (most recent call last)" }, true);
      expect(problem.kind).toBe("unavailable");
      expect(problem.message).toBe(UNAVAILABLE);
    }
  });

  it("asks to slow down on 429", () => {
    expect(problemOf(429, null, false).message).toMatch(/wait a second/);
  });

  it("copes with a body that is not the shop's", () => {
    expect(problemOf(418, "teapot", false).message).toBe("The shop answered 418.");
  });
});

describe("cancellationText", () => {
  it("tells a declined card apart from other reasons", () => {
    expect(cancellationText("card_declined")).toMatch(/declined\. Nothing was charged/);
    expect(cancellationText("insufficient_funds")).toMatch(/insufficient funds/);
    expect(cancellationText("payment_not_confirmed")).toContain("payment not confirmed");
    expect(cancellationText(null)).toMatch(/cancelled/);
  });
});
