import { describe, expect, it } from "vitest";
import { loadSession, newSession } from "./session";

const storing = (value: unknown) => ({ getItem: () => (value === undefined ? null : JSON.stringify(value)) });

describe("sessions", () => {
  it("end ten seconds before the token does", () => {
    expect(newSession("t", "a@example.com", 900, 1_000).expiresAt).toBe(1_000 + 890_000);
  });

  it("are kept until they expire", () => {
    const session = newSession("t", "a@example.com", 900, 0);
    expect(loadSession(storing(session), 1_000)).toEqual(session);
    expect(loadSession(storing(session), session.expiresAt)).toBeNull();
  });

  it("are none when the storage holds nothing usable", () => {
    expect(loadSession(storing(undefined))).toBeNull();
    expect(loadSession({ getItem: () => "{not json" })).toBeNull();
    expect(loadSession(storing({ email: "a@example.com" }))).toBeNull();
  });
});
