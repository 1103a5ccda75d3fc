/**
 * @module workers/retention
 * The retention job, run by the Cron Trigger in wrangler.toml (hourly). It deletes the D1 rows
 * that only grow and are only needed for a while, so every table has a bound
 * (docs/architecture.md, "Every table and its bound"):
 *
 * - `push_sent`: a row only stops a job's retries and redeliveries from notifying a device twice.
 *   A job lives at most about 2 days (4 retries of at most 12 h each) plus the time the queue
 *   may hold it (4 days by default), so rows go after 7 days.
 * - `push_failures`: dead letters, kept 30 days for an operator to look at.
 * - `rate_limits`: a bucket whose `tat` has passed is full again, the same as no row; a known
 *   address whose 30 days have passed is no longer known (storage/d1/rate-limits.ts).
 *
 * Each run writes one structured log line (`retention.run`): what it deleted, and the dead
 * letters of the last 24 hours (a `warn` when there are any), so failed pushes are visible
 * without a query.
 */
import { log } from "../observability/log.ts";
import { openDb } from "../storage/d1/db.ts";
import {
  countPushFailures,
  DEFAULT_PRUNE_LIMITS,
  type PruneLimits,
  pruneBefore,
} from "../storage/d1/retention.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
export const PUSH_SENT_KEEP_MS = 7 * DAY_MS;
export const PUSH_FAILURES_KEEP_MS = 30 * DAY_MS;

export interface RetentionReport {
  deleted: { push_sent: number; push_failures: number; rate_limits: number };
  /** Some table had more to delete than one run deletes; the next run goes on. */
  more: boolean;
  /** Jobs that exhausted their retries in the last 24 hours, and all kept in `push_failures`. */
  dead_letters_24h: number;
  dead_letters_kept: number;
}

export async function runRetention(
  env: Env,
  now: number,
  limits: PruneLimits = DEFAULT_PRUNE_LIMITS,
): Promise<RetentionReport> {
  const db = openDb(env.DB);
  const started = Date.now();
  const sent = await pruneBefore(db, "push_sent", now - PUSH_SENT_KEEP_MS, limits);
  const failures = await pruneBefore(db, "push_failures", now - PUSH_FAILURES_KEEP_MS, limits);
  const limitsPruned = await pruneBefore(db, "rate_limits", now, limits);
  const dead = await countPushFailures(db, now - DAY_MS);
  const report: RetentionReport = {
    deleted: {
      push_sent: sent.deleted,
      push_failures: failures.deleted,
      rate_limits: limitsPruned.deleted,
    },
    more: sent.more || failures.more || limitsPruned.more,
    dead_letters_24h: dead.recent,
    dead_letters_kept: dead.kept,
  };
  (report.dead_letters_24h > 0 ? log.warn : log.info)("retention.run", {
    counts: {
      ...report.deleted,
      dead_letters_24h: report.dead_letters_24h,
      dead_letters_kept: report.dead_letters_kept,
    },
    more: report.more,
    duration_ms: Date.now() - started,
  });
  return report;
}
