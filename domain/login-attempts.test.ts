import { describe, expect, it } from "vitest";
import type { Limits } from "./limits.ts";
import { failureCharges, KNOWN_ADDRESS_MS, keysToRead, loginKeys, loginWait } from "./login-attempts.ts";
import { charge, parseRate } from "./rate-limit.ts";

const limits = {
  loginFailuresPerHandleAddress: parseRate("5/15m"),
  loginFailuresPerHandle: parseRate("50/15m"),
  loginFailuresPerAddress: parseRate("100/15m"),
} as Limits;

/** Buckets after `n` failures of each kind at time 0. */
function failed(keys: ReturnType<typeof loginKeys>, n: { ha?: number; h?: number; a?: number }) {
  const tats = new Map<string, number>();
  const [ha, h, a] = failureCharges(keys, limits);
  if (n.ha) tats.set(ha!.key, charge(0, 0, ha!.rate, n.ha));
  if (n.h) tats.set(h!.key, charge(0, 0, h!.rate, n.h));
  if (n.a) tats.set(a!.key, charge(0, 0, a!.rate, n.a));
  return tats;
}

describe("login attempts", () => {
  it("reads one bucket per (handle, address), handle and address, plus whether the address is known", () => {
    const keys = loginKeys("alice", "203.0.113.9", "U1");
    expect(keysToRead(keys)).toEqual([
      "login:ha:alice:203.0.113.9",
      "login:h:alice",
      "login:a:203.0.113.9",
      "login:known:U1:203.0.113.9",
    ]);
    expect(keysToRead(loginKeys("nobody", "203.0.113.9", null))).toHaveLength(3);
  });

  it("refuses after the tight (handle, address) failures, even from a known address", () => {
    const keys = loginKeys("alice", "home", "U1");
    const tats = failed(keys, { ha: 5 });
    tats.set(keys.known!, KNOWN_ADDRESS_MS);
    expect(loginWait(tats, keys, limits, 0)).toBe(180_000);
    expect(loginWait(tats, keys, limits, 180_000)).toBe(0);
  });

  it("refuses an unknown address once strangers used up the handle's or the address's failures", () => {
    const keys = loginKeys("alice", "cafe", "U1");
    expect(loginWait(failed(keys, { h: 50 }), keys, limits, 0)).toBe(18_000);
    expect(loginWait(failed(keys, { a: 100 }), keys, limits, 0)).toBe(9_000);
    expect(loginWait(failed(keys, { h: 49, a: 99 }), keys, limits, 0)).toBe(0);
  });

  it("lets the owner in from a known address whatever strangers did to the loose buckets", () => {
    const keys = loginKeys("alice", "home", "U1");
    const tats = failed(keys, { h: 500, a: 1_000 });
    expect(loginWait(tats, keys, limits, 0)).toBeGreaterThan(0);
    tats.set(keys.known!, KNOWN_ADDRESS_MS);
    expect(loginWait(tats, keys, limits, 0)).toBe(0);
    // Known until its time (30 days after the last success), then not.
    tats.set(keys.known!, -1);
    expect(loginWait(tats, keys, limits, 0)).toBeGreaterThan(0);
  });
});
