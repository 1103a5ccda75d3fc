// How a push service's answer becomes an outcome, and how Retry-After is read.
import { describe, expect, it } from "vitest";
import { outcomeOf, parseRetryAfter } from "./provider.ts";

const NOW = Date.parse("2026-11-21T12:00:00Z");

describe("parseRetryAfter", () => {
  it("reads delay-seconds", () => {
    expect(parseRetryAfter("7", NOW)).toBe(7);
    expect(parseRetryAfter(" 120 ", NOW)).toBe(120);
    expect(parseRetryAfter("0", NOW)).toBe(0);
  });

  it("reads an HTTP date as seconds from now, and a past date as 0", () => {
    expect(parseRetryAfter("Sat, 21 Nov 2026 12:00:30 GMT", NOW)).toBe(30);
    expect(parseRetryAfter("Sat, 21 Nov 2026 11:00:00 GMT", NOW)).toBe(0);
  });

  it("is null when absent or unreadable", () => {
    expect(parseRetryAfter(null, NOW)).toBeNull();
    expect(parseRetryAfter("soon", NOW)).toBeNull();
    expect(parseRetryAfter("-5", NOW)).toBeNull();
  });
});

describe("outcomeOf", () => {
  it("2xx is sent", () => {
    expect(outcomeOf(201, null, NOW)).toEqual({ kind: "sent" });
    expect(outcomeOf(200, null, NOW)).toEqual({ kind: "sent" });
  });

  it("404 and 410 mean the subscription is gone", () => {
    expect(outcomeOf(404, null, NOW)).toEqual({ kind: "gone" });
    expect(outcomeOf(410, null, NOW)).toEqual({ kind: "gone" });
  });

  it("429 or 503 with Retry-After is throttled; without it, a plain failure", () => {
    expect(outcomeOf(429, "7", NOW)).toEqual({ kind: "throttled", retryAfterS: 7 });
    expect(outcomeOf(503, "Sat, 21 Nov 2026 12:01:00 GMT", NOW)).toEqual({
      kind: "throttled",
      retryAfterS: 60,
    });
    expect(outcomeOf(429, null, NOW)).toEqual({ kind: "failed", status: 429 });
  });

  it("anything else failed, with its status", () => {
    expect(outcomeOf(500, null, NOW)).toEqual({ kind: "failed", status: 500 });
    expect(outcomeOf(413, null, NOW)).toEqual({ kind: "failed", status: 413 });
  });
});
