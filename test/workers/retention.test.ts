// The retention job (workers/retention.ts, wrangler.toml [triggers]): the D1 tables that only
// grow lose the rows past their use, in bounded batches, and each run logs one structured line
// with the dead letters of the last 24 hours. Rows are written with the repositories the
// product uses, dated as each case needs; the job runs through the Worker's `scheduled` handler.
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openDb } from "../../storage/d1/db.ts";
import { recordFailure, recordSent } from "../../storage/d1/push.ts";
import { setTat } from "../../storage/d1/rate-limits.ts";
import { pruneBefore } from "../../storage/d1/retention.ts";
import worker from "../../workers/index.ts";
import { PUSH_FAILURES_KEEP_MS, PUSH_SENT_KEEP_MS, type RetentionReport } from "../../workers/retention.ts";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const db = openDb(env.DB);

async function rows(table: string): Promise<Record<string, unknown>[]> {
  return (await env.DB.prepare(`SELECT * FROM ${table}`).all()).results;
}

async function runCron(scheduledTime: number): Promise<RetentionReport[]> {
  const lines: string[] = [];
  const capture = (line: unknown) => void lines.push(String(line));
  const log = vi.spyOn(console, "log").mockImplementation(capture);
  const warn = vi.spyOn(console, "warn").mockImplementation(capture);
  try {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime, cron: "17 * * * *" }), env, ctx);
  } finally {
    log.mockRestore();
    warn.mockRestore();
  }
  // The run's log line (observability/log.ts), read back as the report it stands for.
  return lines
    .map((l) => JSON.parse(l))
    .filter((r) => r.event === "retention.run")
    .map(({ counts, more }) => ({
      deleted: {
        push_sent: counts.push_sent,
        push_failures: counts.push_failures,
        rate_limits: counts.rate_limits,
      },
      more,
      dead_letters_24h: counts.dead_letters_24h,
      dead_letters_kept: counts.dead_letters_kept,
    }));
}

afterEach(() => vi.restoreAllMocks());

describe("retention", () => {
  it("deletes push_sent, push_failures and rate_limits rows past their use, keeps the rest, and logs", async () => {
    const now = Date.UTC(2027, 0, 10, 12, 17);
    const failure = (id: string, at: number) =>
      recordFailure(db, { id, userId: "u", channelId: "c", seq: 1, attempts: 5, body: "{}" }, at);
    await recordSent(db, "dev-old", "c", 1, now - PUSH_SENT_KEEP_MS - 1);
    await recordSent(db, "dev-new", "c", 2, now - PUSH_SENT_KEEP_MS + HOUR);
    await failure("dead-old", now - PUSH_FAILURES_KEEP_MS - 1);
    await failure("dead-week", now - 7 * DAY);
    await failure("dead-hour", now - HOUR);
    // A bucket full again since a minute ago, and one still counting for another minute.
    await setTat(db, "login:h:ended", now - 60_000);
    await setTat(db, "login:h:current", now + 60_000);

    const [report] = await runCron(now);

    expect((await rows("push_sent")).map((r) => r.device_id)).toEqual(["dev-new"]);
    expect((await rows("push_failures")).map((r) => r.id).sort()).toEqual(["dead-hour", "dead-week"]);
    expect((await rows("rate_limits")).map((r) => r.key)).toEqual(["login:h:current"]);
    expect(report).toEqual({
      deleted: { push_sent: 1, push_failures: 1, rate_limits: 1 },
      more: false,
      dead_letters_24h: 1,
      dead_letters_kept: 2,
    } satisfies RetentionReport);

    // A second run a minute later finds nothing more to delete; the dead letter is still reported.
    const [again] = await runCron(now + 60_000);
    expect(again?.deleted).toEqual({ push_sent: 0, push_failures: 0, rate_limits: 0 });
    expect(again?.dead_letters_24h).toBe(1);
  });

  it("deletes in bounded batches and leaves the rest to the next run", async () => {
    // Before every row of the test above, which shares this file's database.
    const now = Date.UTC(2026, 0, 1);
    for (let seq = 1; seq <= 5; seq++) await recordSent(db, "dev-batch", "c-batch", seq, now - 30 * DAY);
    const limits = { batch: 2, maxBatches: 2 };
    expect(await pruneBefore(db, "push_sent", now - PUSH_SENT_KEEP_MS, limits)).toEqual({
      deleted: 4,
      more: true,
    });
    expect(await pruneBefore(db, "push_sent", now - PUSH_SENT_KEEP_MS, limits)).toEqual({
      deleted: 1,
      more: false,
    });
    expect((await rows("push_sent")).filter((r) => r.device_id === "dev-batch")).toEqual([]);
  });
});
