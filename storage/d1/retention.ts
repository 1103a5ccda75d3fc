/**
 * @module storage/d1/retention
 * Deleting D1 rows that are past their use, for the retention job (workers/retention.ts). Rows
 * go in batches of at most `batch`, each its own statement: D1 runs one query at a time per
 * database and limits how long one may take, so a single DELETE of a month of rows would hold
 * every other query back. A run stops after `maxBatches`; what is left goes on the next run.
 */
import { count, gte, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { pushFailures, pushSent, rateLimits } from "./schema.ts";

export interface PruneLimits {
  /** Rows per DELETE statement. */
  batch: number;
  /** Statements per run. */
  maxBatches: number;
}

export const DEFAULT_PRUNE_LIMITS: PruneLimits = { batch: 5_000, maxBatches: 20 };

export interface Pruned {
  deleted: number;
  /** The run stopped at `maxBatches` with rows possibly left over. */
  more: boolean;
}

/** The tables pruned by age, and the column that dates a row (indexed where the table is large). */
const DATED = {
  /** A push sent (`push_sent_sent_at`). */
  push_sent: pushSent.sentAt,
  /** A dead letter recorded (`push_failures_failed_at`). */
  push_failures: pushFailures.failedAt,
  /** When a bucket is full again (or a known address stops being known); small, unindexed. */
  rate_limits: rateLimits.tat,
} as const;

export type DatedTable = keyof typeof DATED;

/** Deletes the rows of `table` dated before `before`, `limits.batch` rows per statement. */
export async function pruneBefore(
  db: Db,
  table: DatedTable,
  before: number,
  limits = DEFAULT_PRUNE_LIMITS,
): Promise<Pruned> {
  const t = sql.identifier(table);
  const column = sql.identifier(DATED[table].name);
  let deleted = 0;
  for (let i = 0; i < limits.maxBatches; i++) {
    const result = await db.run(
      sql`DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE ${column} < ${before} LIMIT ${limits.batch})`,
    );
    const changes = result.meta.changes ?? 0;
    deleted += changes;
    if (changes < limits.batch) return { deleted, more: false };
  }
  return { deleted, more: true };
}

/** Dead-letter records since `since`, and all that are kept. */
export async function countPushFailures(db: Db, since: number): Promise<{ recent: number; kept: number }> {
  const [recent, kept] = await db.batch([
    db.select({ n: count() }).from(pushFailures).where(gte(pushFailures.failedAt, since)),
    db.select({ n: count() }).from(pushFailures),
  ]);
  return { recent: recent[0]?.n ?? 0, kept: kept[0]?.n ?? 0 };
}
