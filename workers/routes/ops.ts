/**
 * @module workers/routes/ops
 * The operator endpoints, under `/v1/ops`, for whoever runs the deployment rather than for
 * users: they take `Authorization: Bearer <OPS_SECRET>`, a secret of their own (wrangler.toml
 * `[secrets]`, `npm start` generates a local one into .dev.vars), not a user's token. Without
 * the secret set, they do not exist (404). docs/operations.md shows how to call them.
 *
 * - `GET /v1/ops/dead-letters?limit=N`: how many push jobs exhausted their retries (kept 30
 *   days, workers/retention.ts), how many in the last 24 hours, and the newest N (default 20,
 *   at most 100): ids, user, channel, seq, attempts, when. Never the job's preview text.
 * - `POST /v1/ops/dead-letters/retry` with `{ "ids": [...] }` (1 to 100) or `{ "all": true }`
 *   (the oldest 100; call again while `remaining` is not 0): workers/dead-letters.ts.
 * - `POST /v1/ops/dead-letters/drop`, the same bodies: deletes them.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import * as v from "valibot";
import { ChatError } from "../../protocol/errors.ts";
import { failuresToSettle, latestFailures, type PushFailureSummary } from "../../storage/d1/push.ts";
import { countPushFailures } from "../../storage/d1/retention.ts";
import { type AppEnv, db } from "../context.ts";
import { dropDeadLetters, retryDeadLetters } from "../dead-letters.ts";
import { valid } from "../validate.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows per call: one queue batch, and one D1 query's worth of bound ids. */
const MAX_ROWS = 100;

/** Equal secrets, in time that does not depend on where they differ (both are hashed first). */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(given)),
    crypto.subtle.digest("SHA-256", enc.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

const requireOperator = createMiddleware<AppEnv>(async (c, next) => {
  const secret = c.env.OPS_SECRET;
  if (!secret) throw new ChatError("not_found", "no such endpoint");
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (!m || !(await sameSecret(m[1]!, secret)))
    throw new ChatError("unauthenticated", "send the operator secret: Authorization: Bearer <OPS_SECRET>");
  await next();
});

const ListQuery = v.object({
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,3}$/, "limit is a whole number"),
      v.transform(Number),
      v.minValue(1, "limit is at least 1"),
      v.maxValue(MAX_ROWS, `limit is at most ${MAX_ROWS}`),
    ),
    "20",
  ),
});

const Selection = v.union(
  [
    v.strictObject({
      ids: v.pipe(
        v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(128))),
        v.minLength(1, "ids names at least one dead letter"),
        v.maxLength(MAX_ROWS, `ids names at most ${MAX_ROWS} dead letters`),
      ),
    }),
    v.strictObject({ all: v.literal(true) }),
  ],
  'send { "ids": [...] } or { "all": true }',
);

function toWire(f: PushFailureSummary) {
  return {
    id: f.id,
    user_id: f.userId,
    channel_id: f.channelId,
    seq: f.seq,
    attempts: f.attempts,
    failed_at: f.failedAt,
  };
}

export const ops = new Hono<AppEnv>();
ops.use(requireOperator);

ops.get("/dead-letters", valid("query", ListQuery), async (c) => {
  const { limit } = c.req.valid("query");
  const [counts, latest] = await Promise.all([
    countPushFailures(db(c), Date.now() - DAY_MS),
    latestFailures(db(c), limit),
  ]);
  return c.json({ count: counts.kept, count_24h: counts.recent, latest: latest.map(toWire) });
});

ops.post("/dead-letters/retry", valid("json", Selection), async (c) => {
  const body = c.req.valid("json");
  const rows = await failuresToSettle(db(c), "ids" in body ? { ids: body.ids } : { oldest: MAX_ROWS });
  const report = await retryDeadLetters(c.env, db(c), rows, Date.now());
  const { kept } = await countPushFailures(db(c), Date.now());
  return c.json({ ...report, not_found: notFound(body, rows), remaining: kept });
});

ops.post("/dead-letters/drop", valid("json", Selection), async (c) => {
  const body = c.req.valid("json");
  const ids =
    "ids" in body ? body.ids : (await failuresToSettle(db(c), { oldest: MAX_ROWS })).map((r) => r.id);
  const dropped = await dropDeadLetters(c.env, db(c), ids);
  const { kept } = await countPushFailures(db(c), Date.now());
  return c.json({ dropped, remaining: kept });
});

/** Ids asked for that are not (or no longer) dead letters. */
function notFound(body: { ids: string[] } | { all: true }, rows: { id: string }[]): string[] {
  if (!("ids" in body)) return [];
  const have = new Set(rows.map((r) => r.id));
  return [...new Set(body.ids)].filter((id) => !have.has(id));
}
