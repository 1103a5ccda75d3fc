/**
 * @module domain/login-attempts
 * Which password checks a login may make, so that guessing is slow and nobody can lock a
 * stranger out (issue #17). Only failures count; a success is never counted, and it clears
 * the failures of its own (handle, address). Three buckets of failures:
 *
 * - per (handle, address), tight: one address guessing one account;
 * - per handle, loose: many addresses guessing one account;
 * - per address, loose: one address guessing many accounts.
 *
 * The loose two are what a stranger could fill to lock an account or an address out. They do
 * not apply to an address the account logged in from successfully in the last 30 days (a
 * "known" address): its owner still logs in from home, from work, from a phone's carrier,
 * while an attack from elsewhere is going on; only their own typos (the tight bucket) can stop
 * them. From an address it never used, the owner waits out the loose bucket like anyone (the
 * answer says how long), and a device already signed in never needs to log in: its refresh
 * token is not limited by any of this.
 */
import type { Limits } from "./limits.ts";
import { type Rate, waitMs } from "./rate-limit.ts";

/** How long a successful login makes its address known for the account. */
export const KNOWN_ADDRESS_MS = 30 * 24 * 3_600_000;

export interface LoginKeys {
  handleAddress: string;
  handle: string;
  address: string;
  /** The (account, address) known key; null when no live account has the handle. */
  known: string | null;
}

/** The D1 keys (storage/d1/rate-limits.ts) of one login attempt. */
export function loginKeys(handle: string, address: string, userId: string | null): LoginKeys {
  return {
    handleAddress: `login:ha:${handle}:${address}`,
    handle: `login:h:${handle}`,
    address: `login:a:${address}`,
    known: userId === null ? null : `login:known:${userId}:${address}`,
  };
}

/** Every key to read before deciding. */
export function keysToRead(k: LoginKeys): string[] {
  return [k.handleAddress, k.handle, k.address, ...(k.known === null ? [] : [k.known])];
}

/** How long this attempt must wait before its password is checked (0: it may be). */
export function loginWait(tats: Map<string, number>, k: LoginKeys, limits: Limits, now: number): number {
  const tat = (key: string) => tats.get(key) ?? 0;
  const own = waitMs(tat(k.handleAddress), now, limits.loginFailuresPerHandleAddress);
  if (own > 0) return own;
  if (k.known !== null && tat(k.known) > now) return 0;
  return Math.max(
    waitMs(tat(k.handle), now, limits.loginFailuresPerHandle),
    waitMs(tat(k.address), now, limits.loginFailuresPerAddress),
  );
}

/** What a failed attempt is charged to. */
export function failureCharges(k: LoginKeys, limits: Limits): { key: string; rate: Rate }[] {
  return [
    { key: k.handleAddress, rate: limits.loginFailuresPerHandleAddress },
    { key: k.handle, rate: limits.loginFailuresPerHandle },
    { key: k.address, rate: limits.loginFailuresPerAddress },
  ];
}
