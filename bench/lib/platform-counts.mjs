/**
 * Platform operations counted from the runtime's own traces (issue #21): what one message, one
 * connect, one resume or one online hour costs in Worker requests, Durable Object requests,
 * RPCs, SQLite rows, D1 queries, queue and R2 operations and CPU time.
 *
 * Nothing is added to the product. workerd emits, for every invocation, a streaming tail: an
 * onset (what started it: an HTTP request, an RPC call, a WebSocket message, an alarm, a queue
 * batch), a span for each storage call it made (`durable_object_storage_exec` with
 * `cloudflare.durable_object.response.rows_read`/`rows_written`, `d1_*` with
 * `cloudflare.d1.response.rows_read`/`rows_written`, R2 and Queues calls) and an outcome with
 * its outcome (with CPU and wall time, which workerd reports as 0 locally: the counts scenario
 * reads CPU from /proc instead, and wall time here is each invocation span's duration). These
 * are the attributes Workers Observability shows in production.
 * Locally, wrangler attaches its trace collector to the Worker when `X_LOCAL_OBSERVABILITY` is
 * true, and stores every span in a SQLite Durable Object of its own, read through the local
 * explorer's `POST /cdn-cgi/local/explorer/api/local/observability/query` (read-only SQL). The
 * benchmark's other servers run with the collector off (it doubles the runtime's CPU per
 * message: bench/README.md); only the server that counts turns it on.
 *
 * An invocation's root span has the trigger's kind: `http` (a fetch: the Worker's own when it
 * has no parent, a Durable Object's when another invocation called it), `jsrpc` (an RPC call on a
 * Durable Object stub), `websocket` (a message or close on a hibernatable socket), `timer` for
 * an alarm (`scheduled` for the cron), `queue` for a consumer batch.
 */
import { sleep } from "./sockets.mjs";

const QUERY = "/cdn-cgi/local/explorer/api/local/observability/query";
const CLEAR = "/cdn-cgi/local/explorer/api/local/observability/clear";

/** Runs `boot()` with wrangler's trace collector attached to the Worker it starts. */
export async function withCollector(boot) {
  const before = process.env.X_LOCAL_OBSERVABILITY;
  process.env.X_LOCAL_OBSERVABILITY = "true";
  try {
    return await boot();
  } finally {
    if (before === undefined) delete process.env.X_LOCAL_OBSERVABILITY;
    else process.env.X_LOCAL_OBSERVABILITY = before;
  }
}

/** Read-only SQL on the collector's store; rows as objects. */
export async function traceQuery(base, sql, params = []) {
  const res = await fetch(`${base}${QUERY}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sql, params }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok || !body?.success) {
    throw new Error(
      `trace query failed (${res.status}): ${JSON.stringify(body?.errors ?? body).slice(0, 300)}; is the collector on (withCollector)?`,
    );
  }
  const { columns, rows } = body.result;
  return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
}

/** Empties the collector's store, so a window's query scans only its own spans. */
export async function clearTraces(base) {
  await fetch(`${base}${CLEAR}`, { method: "POST" });
}

const attr = (name) => `json_extract(attributes, '$."${name}"')`;

/**
 * Every span since `sinceMs`, grouped: invocations by trigger (with their CPU and wall time),
 * storage calls by name (with rows). One query: the store returns at most 10,000 rows, and
 * groups stay few.
 */
async function grouped(base, sinceMs) {
  return traceQuery(
    base,
    `SELECT kind, name, parent_id IS NULL AS root,
            CASE WHEN kind IN ('http', 'fetch') THEN ${attr("url.full")} ELSE NULL END AS url,
            ${attr("jsrpc.method")} AS method,
            count(*) AS n,
            sum(coalesce(duration_ms, 0)) AS wall_ms,
            sum(coalesce(${attr("cloudflare.durable_object.response.rows_read")}, 0)) AS do_rows_read,
            sum(coalesce(${attr("cloudflare.durable_object.response.rows_written")}, 0)) AS do_rows_written,
            sum(coalesce(${attr("cloudflare.d1.response.rows_read")}, 0)) AS d1_rows_read,
            sum(coalesce(${attr("cloudflare.d1.response.rows_written")}, 0)) AS d1_rows_written
       FROM spans WHERE start_ms >= ?
      GROUP BY 1, 2, 3, 4, 5`,
    [sinceMs],
  );
}

/** Waits until no new span has been stored for `quietMs` (the collector writes in batches). */
export async function settle(base, sinceMs, { quietMs = 1500, maxMs = 20_000 } = {}) {
  const t0 = Date.now();
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const [{ n }] = await traceQuery(base, "SELECT count(*) AS n FROM spans WHERE start_ms >= ?", [sinceMs]);
    if (n !== last) {
      last = n;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) return n;
    if (Date.now() - t0 > maxMs) return n;
    await sleep(250);
  }
}

/** The empty tally: every figure the capacity model reads (scripts/capacity.mjs). */
export function emptyTally() {
  return {
    worker_requests: 0,
    worker_wall_ms: 0,
    do_requests: 0,
    do_fetches: 0,
    do_rpc_calls: 0,
    do_websocket_messages: 0,
    do_alarms: 0,
    do_wall_ms: 0,
    do_sql_statements: 0,
    do_rows_read: 0,
    do_rows_written: 0,
    d1_queries: 0,
    d1_rows_read: 0,
    d1_rows_written: 0,
    queue_sends: 0,
    queue_batches: 0,
    outbound_fetches: 0,
    r2_class_a: 0,
    r2_class_b: 0,
    rpc_methods: {},
    other: {},
  };
}

/** R2 operations Cloudflare bills as Class A (writes, lists) and Class B (reads). */
const R2_CLASS_A = /r2_(put|list|create|upload|complete)/;
const R2_CLASS_B = /r2_(get|head)/;

/** Folds the grouped spans into one tally. */
export function tally(groups) {
  const t = emptyTally();
  for (const g of groups) {
    const n = Number(g.n);
    const wall = Number(g.wall_ms);
    const name = String(g.name ?? "");
    t.do_rows_read += Number(g.do_rows_read);
    t.do_rows_written += Number(g.do_rows_written);
    t.d1_rows_read += Number(g.d1_rows_read);
    t.d1_rows_written += Number(g.d1_rows_written);
    if (g.kind === "http" && String(g.url ?? "").includes("/v1/ws/")) {
      // An upgrade's own invocations, stored once its socket closed: counted by its subrequest.
    } else if (g.kind === "http" && g.root) {
      // A fetch with no caller: a request from the Internet to the Worker.
      t.worker_requests += n;
      t.worker_wall_ms += wall;
    } else if (g.kind === "http") {
      // A fetch another invocation made to a Durable Object (socket upgrades).
      t.do_requests += n;
      t.do_fetches += n;
      t.do_wall_ms += wall;
    } else if (g.kind === "jsrpc") {
      t.do_requests += n;
      t.do_rpc_calls += n;
      t.do_wall_ms += wall;
      const m = g.method ?? "?";
      t.rpc_methods[m] = (t.rpc_methods[m] ?? 0) + n;
    } else if (g.kind === "websocket") {
      t.do_requests += n;
      t.do_websocket_messages += n;
      t.do_wall_ms += wall;
    } else if (g.kind === "scheduled" && name === "alarm") {
      t.do_requests += n;
      t.do_alarms += n;
      t.do_wall_ms += wall;
    } else if (g.kind === "queue") {
      t.queue_batches += n;
      t.worker_wall_ms += wall;
    } else if (name === "durable_object_storage_exec") {
      t.do_sql_statements += n;
    } else if (name.startsWith("d1_")) {
      t.d1_queries += n;
    } else if (g.kind === "fetch") {
      // Subrequests: local D1 is reached by a fetch (its d1_* span counts it), a queue send is
      // miniflare's producer posting to its broker (`/message`, `/batch`), the rest leave the
      // runtime (Web Push requests).
      const url = new URL(String(g.url ?? "http://unknown/"));
      if (url.hostname === "d1") continue;
      if (url.pathname.startsWith("/v1/ws/")) {
        // A socket upgrade handed by the Worker to the object that takes the socket. The
        // Worker's request and the object's fetch invocation end only when the socket closes
        // (their spans are stored then); this subrequest ends with the 101, so each upgrade is
        // counted here: one Worker request, one Durable Object request.
        t.worker_requests += n;
        t.do_requests += n;
        t.do_fetches += n;
      } else if (url.hostname === "placeholder" && /^\/(message|batch)$/.test(url.pathname))
        t.queue_sends += n;
      else {
        t.outbound_fetches += n;
        t.other[`fetch:${url.host}`] = (t.other[`fetch:${url.host}`] ?? 0) + n;
      }
    } else if (/queue.*send|send.*queue/i.test(name)) {
      t.queue_sends += n;
    } else if (R2_CLASS_A.test(name)) {
      t.r2_class_a += n;
    } else if (R2_CLASS_B.test(name)) {
      t.r2_class_b += n;
    } else {
      const key = `${g.kind}:${name}`;
      t.other[key] = (t.other[key] ?? 0) + n;
    }
  }
  // Queue messages: miniflare's producer sends leave no span of their own; every push job is
  // settled exactly once by the consumer (`pushSettled` on the user's object, sent or dead), so
  // jobs are counted by those calls when no send was seen.
  if (t.queue_sends === 0) t.queue_sends = t.rpc_methods.pushSettled ?? 0;
  return t;
}

/** A tally divided by `by` (per message, per device-hour…), rounded to 3 significant places. */
export function per(t, by) {
  const out = {};
  for (const [k, v] of Object.entries(t)) {
    if (typeof v === "number") out[k] = Math.round((v / by) * 1000) / 1000;
    else
      out[k] = Object.fromEntries(Object.entries(v).map(([m, x]) => [m, Math.round((x / by) * 1000) / 1000]));
  }
  return out;
}

/**
 * Counts what `fn` causes: clears the store, runs `fn`, waits until the collector has stored
 * every span (and `settleMs` for what the work leaves behind: folded updates, batched saves),
 * and returns the tally of every span that started since.
 */
export async function counted(base, fn, { settleMs = 2500 } = {}) {
  await clearTraces(base);
  await sleep(200);
  const since = Date.now();
  const extra = await fn();
  await sleep(settleMs);
  await settle(base, since);
  const t = tally(await grouped(base, since));
  return { tally: t, extra, since };
}
