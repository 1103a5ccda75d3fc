/**
 * @module domain/rate-limit
 * Token buckets as the Generic Cell Rate Algorithm (GCRA): a bucket is one number, the
 * "theoretical arrival time" (`tat`), the moment at which it will be full again. A limit
 * `burst/period` ("60/10s") lets `burst` events through at once and then one per
 * `period / burst`: sustained `burst` per `period`. An event is allowed when, after it, the
 * bucket would still be at most `period` in debt; otherwise it is refused with the time until
 * it would be allowed. One number per key suits both memory (`Limiter`, a map of numbers) and
 * D1 (one integer column, storage/d1/rate-limits.ts), and a `tat` at or before now is a full
 * bucket, which can simply be forgotten. Pure: the clock is passed in.
 */

/** At most `burst` events at once, refilled at `burst` per `periodMs`. */
export interface Rate {
  burst: number;
  periodMs: number;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a limit setting: `"<burst>/<period><unit>"` with unit `ms`, `s`, `m` or `h`, e.g.
 * `"60/10s"` (bursts of 60, 6 per second sustained) or `"5/15m"`. Throws on anything else, so
 * a mistyped setting fails loudly at the first request instead of silently not limiting.
 */
export function parseRate(spec: string, name = "limit"): Rate {
  const m = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(spec);
  const burst = Number(m?.[1]);
  const periodMs = Number(m?.[2]) * (UNITS[m?.[3] ?? ""] ?? Number.NaN);
  if (!m || !(burst >= 1) || !(periodMs > 0)) {
    throw new Error(`${name}: "${spec}" is not a limit such as "60/10s" (burst / period)`);
  }
  return { burst, periodMs };
}

/** The outcome of taking from a bucket: the new `tat`, or how long until it would be allowed. */
export type Take = { ok: true; tat: number } | { ok: false; retryAfterMs: number };

/** Takes `cost` events from a bucket whose full-again time is `tat` (0: never used). */
export function take(tat: number, now: number, rate: Rate, cost = 1): Take {
  const interval = rate.periodMs / rate.burst;
  const next = Math.max(tat, now) + cost * interval;
  const debt = next - now;
  if (debt <= rate.periodMs + 1e-6) return { ok: true, tat: next };
  return { ok: false, retryAfterMs: Math.max(1, Math.ceil(debt - rate.periodMs)) };
}

/**
 * Records `cost` events that already happened, whether or not they fit: the bucket may go into
 * debt beyond its burst, and then refuses until the debt is paid back (how long: `waitMs`).
 */
export function charge(tat: number, now: number, rate: Rate, cost: number): number {
  return Math.max(tat, now) + cost * (rate.periodMs / rate.burst);
}

/** How long until one more event would be allowed (0: now). */
export function waitMs(tat: number, now: number, rate: Rate): number {
  const r = take(tat, now, rate);
  return r.ok ? 0 : r.retryAfterMs;
}

/**
 * Buckets in memory, one per key, for a Durable Object's own limits (per socket, device, user
 * or channel): exact, as the object is the single place its key's events pass. They live as
 * long as the object: one that is evicted after idling forgets them, which matters only to
 * someone who was idle. Full buckets are dropped as the map grows, so it holds only keys that
 * are in use.
 */
export class Limiter {
  readonly #rate: Rate;
  readonly #tats = new Map<string, number>();
  #sweepAt = 1_024;

  constructor(rate: Rate) {
    this.#rate = rate;
  }

  get rate(): Rate {
    return this.#rate;
  }

  /** Takes one event for `key`: 0 when allowed, else the ms until it would be. */
  take(key: string, now: number, cost = 1): number {
    const r = take(this.#tats.get(key) ?? 0, now, this.#rate, cost);
    if (!r.ok) return r.retryAfterMs;
    this.#tats.set(key, r.tat);
    if (this.#tats.size >= this.#sweepAt) this.#sweep(now);
    return 0;
  }

  /** How long `key` must wait for its next event (0: allowed now); takes nothing. */
  wait(key: string, now: number): number {
    return waitMs(this.#tats.get(key) ?? 0, now, this.#rate);
  }

  /** Forgets a key (its bucket is full again). */
  forget(key: string): void {
    this.#tats.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
    this.#sweepAt = Math.max(1_024, this.#tats.size * 2);
  }
}

/**
 * One bucket, for state that already lives in an object of its own (a socket's): the same
 * rules as `Limiter` without a map.
 */
export class Bucket {
  readonly rate: Rate;
  #tat = 0;

  constructor(rate: Rate) {
    this.rate = rate;
  }

  /** Takes one event: 0 when allowed, else the ms until it would be. */
  take(now: number, cost = 1): number {
    const r = take(this.#tat, now, this.rate, cost);
    if (!r.ok) return r.retryAfterMs;
    this.#tat = r.tat;
    return 0;
  }
}
