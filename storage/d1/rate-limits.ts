/**
 * @module storage/d1/rate-limits
 * A fixed-window counter per key, in one upsert. Used for login attempts (per handle and per
 * client address), where a few ms of D1 latency does not matter.
 */
import { sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { rateLimits } from "./schema.ts";

/** Counts one hit; returns the count in the current window (including this one). */
export async function hit(db: Db, key: string, windowMs: number, now: number): Promise<number> {
  const windowStart = now - (now % windowMs);
  const row = await db
    .insert(rateLimits)
    .values({ key, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`CASE WHEN ${rateLimits.windowStart} = ${windowStart} THEN ${rateLimits.count} + 1 ELSE 1 END`,
        windowStart,
      },
    })
    .returning({ count: rateLimits.count })
    .get();
  return row?.count ?? 1;
}
