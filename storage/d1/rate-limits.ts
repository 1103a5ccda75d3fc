/**
 * @module storage/d1/rate-limits
 * Token buckets in D1 (`rate_limits`, one GCRA `tat` per key; domain/rate-limit.ts), for the
 * few limits that must hold across every Worker and outlive any object: signups per address,
 * failed logins and password checks. Each is a request that is rare and already costs a
 * password hash, next to which a D1 row is nothing. A refused request writes nothing.
 */
import { inArray, sql } from "drizzle-orm";
import { type Rate, take } from "../../domain/rate-limit.ts";
import { chunksFor } from "./bind-limit.ts";
import type { Db } from "./db.ts";
import { rateLimits } from "./schema.ts";

/** D1 stores whole milliseconds: the refill interval rounds up (the limit errs on the safe side). */
function intervalOf(rate: Rate): number {
  return Math.ceil(rate.periodMs / rate.burst);
}

/** The buckets of these keys (a key with no row is full: absent from the map). */
export async function readTats(db: Db, keys: string[]): Promise<Map<string, number>> {
  const pages = await Promise.all(
    chunksFor(keys, 0).map((chunk) =>
      db
        .select({ key: rateLimits.key, tat: rateLimits.tat })
        .from(rateLimits)
        .where(inArray(rateLimits.key, chunk))
        .all(),
    ),
  );
  return new Map(pages.flat().map((r) => [r.key, r.tat]));
}

/**
 * Takes one event from `key`'s bucket, atomically (one statement): 0 when allowed, else the
 * ms until it would be. A refused take changes nothing.
 */
export async function takeOne(db: Db, key: string, rate: Rate, now: number): Promise<number> {
  const interval = intervalOf(rate);
  const rows = await db.all<{ tat: number }>(sql`
    INSERT INTO rate_limits (key, tat) VALUES (${key}, ${now + interval})
    ON CONFLICT (key) DO UPDATE SET tat = MAX(tat, ${now}) + ${interval}
      WHERE MAX(tat, ${now}) + ${interval} - ${now} <= ${rate.periodMs}
    RETURNING tat`);
  if (rows.length > 0) return 0;
  const tat = (await readTats(db, [key])).get(key) ?? 0;
  const r = take(tat, now, { burst: rate.periodMs / interval, periodMs: rate.periodMs });
  return r.ok ? 1 : r.retryAfterMs;
}

/**
 * Records one event on each key, whatever its bucket holds (a failed login counts even when a
 * concurrent one filled the bucket first). One batch, one round trip.
 */
export async function chargeOne(db: Db, charges: { key: string; rate: Rate }[], now: number): Promise<void> {
  const [first, ...rest] = charges.map(({ key, rate }) => {
    const interval = intervalOf(rate);
    return db
      .insert(rateLimits)
      .values({ key, tat: now + interval })
      .onConflictDoUpdate({
        target: rateLimits.key,
        set: { tat: sql`MAX(${rateLimits.tat}, ${now}) + ${interval}` },
      });
  });
  if (first) await db.batch([first, ...rest]);
}

/** Sets a key's `tat` outright (a known address, until then). */
export async function setTat(db: Db, key: string, tat: number): Promise<void> {
  await db
    .insert(rateLimits)
    .values({ key, tat })
    .onConflictDoUpdate({ target: rateLimits.key, set: { tat } });
}

/** Forgets keys: their buckets are full again. */
export async function forgetKeys(db: Db, keys: string[]): Promise<void> {
  for (const chunk of chunksFor(keys, 0)) await db.delete(rateLimits).where(inArray(rateLimits.key, chunk));
}
