import { describe, expect, it } from "vitest";
import { ChatError, ERROR_STATUS, type ErrorCode } from "./errors.ts";

const CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

describe("ChatError", () => {
  it("toEnvelope gives { error: { code, message } } without details when there are none", () => {
    const envelope = new ChatError("rate_limited", "slow down").toEnvelope();
    expect(envelope).toEqual({ error: { code: "rate_limited", message: "slow down" } });
    expect(envelope.error).not.toHaveProperty("details");
  });

  it("toEnvelope includes details when given", () => {
    const err = new ChatError("validation_failed", "bad body", { details: [{ path: "handle" }] });
    expect(err.toEnvelope()).toEqual({
      error: { code: "validation_failed", message: "bad body", details: [{ path: "handle" }] },
    });
  });

  it("toEnvelope never carries the cause or the stack", () => {
    const err = new ChatError("internal", "something went wrong", { cause: new Error("secret detail") });
    const text = JSON.stringify(err.toEnvelope());
    expect(text).not.toContain("secret detail");
    expect(text).not.toContain("stack");
    expect(err.cause).toBeInstanceOf(Error);
  });

  it("reports the HTTP status of its code", () => {
    expect(new ChatError("not_a_member", "no").status).toBe(403);
    expect(new ChatError("frame_too_large", "no").status).toBe(413);
    expect(new ChatError("group_full", "no").status).toBe(409);
  });

  it("is an Error named ChatError", () => {
    const err = new ChatError("forbidden", "no");
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("ChatError");
  });
});

describe("ERROR_STATUS", () => {
  it("maps every code to a 4xx or 5xx status", () => {
    for (const code of CODES) {
      const status = ERROR_STATUS[code];
      expect(Number.isInteger(status)).toBe(true);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it("uses snake_case codes that the RPC encoding can carry", () => {
    for (const code of CODES) expect(code).toMatch(/^[a-z_]+$/);
  });
});
