/**
 * @module workers/dead-letters
 * What an operator does with push jobs that exhausted their retries (`push_failures`, written by
 * the dead-letter consumer): retry them or drop them (the routes are in workers/routes/ops.ts).
 *
 * A retry asks the user's Durable Object first, as the consumer does before each of its own
 * retries (`pushRetryWanted`): a notification for a message the user has read since, or while a
 * device of the user is connected, or in a channel muted or left, is not sent hours late; it
 * is removed as `stale`. The others go back on the push queue as new jobs (attempt 1, their
 * devices already notified are skipped by the consumer), and leave the table: if they fail
 * again, the dead-letter consumer records them again under a new id. A row whose job cannot
 * be read stays (`unreadable`), for an operator to drop.
 */
import * as v from "valibot";
import { log } from "../observability/log.ts";
import { metricsOf } from "../observability/metrics.ts";
import { type PushJob, PushJobSchema } from "../protocol/push.ts";
import type { Db } from "../storage/d1/db.ts";
import { deleteFailures, type PushFailureSummary } from "../storage/d1/push.ts";
import { inboxStub } from "./context.ts";

export interface RetryReport {
  retried: number;
  stale: number;
  /** Ids of rows whose job does not parse: kept. */
  unreadable: string[];
}

function jobOf(body: string): PushJob | null {
  try {
    const parsed = v.safeParse(PushJobSchema, JSON.parse(body));
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}

export async function retryDeadLetters(
  env: Env,
  db: Db,
  rows: (PushFailureSummary & { body: string })[],
  now: number,
): Promise<RetryReport> {
  const unreadable: string[] = [];
  const checked = await Promise.all(
    rows.map(async (row) => {
      const job = jobOf(row.body);
      if (!job) {
        unreadable.push(row.id);
        return null;
      }
      const wanted = await inboxStub(env, job.user_id).pushRetryWanted(
        job.channel_id,
        job.seq,
        row.attempts + 1,
      );
      return { id: row.id, job, wanted };
    }),
  );
  const found = checked.filter((c) => c !== null);
  const again = found.filter((c) => c.wanted);
  // One call for the lot (a batch holds at most 100 messages; callers pass at most 100 rows).
  if (again.length > 0)
    await env.PUSH_QUEUE.sendBatch(again.map((c) => ({ body: { ...c.job, queued_at: now } })));
  await deleteFailures(
    db,
    found.map((c) => c.id),
  );
  const report = { retried: again.length, stale: found.length - again.length, unreadable };
  const metrics = metricsOf(env);
  if (report.retried > 0) metrics.deadLetter("retried", report.retried);
  if (report.stale > 0) metrics.deadLetter("stale", report.stale);
  log.info("ops.dead_letters_retried", {
    count: report.retried,
    of: rows.length,
    outcome: `${report.stale} stale, ${unreadable.length} unreadable`,
    ids: rows.map((r) => r.id),
  });
  return report;
}

export async function dropDeadLetters(env: Env, db: Db, ids: string[]): Promise<number> {
  const dropped = await deleteFailures(db, ids);
  if (dropped > 0) metricsOf(env).deadLetter("dropped", dropped);
  log.info("ops.dead_letters_dropped", { count: dropped, of: ids.length, ids });
  return dropped;
}
