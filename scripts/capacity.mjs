/**
 * `npm run capacity [-- FILE.json] [--json | --markdown]`: the capacity and cost model at 50 million daily
 * active users (issue #21, docs/capacity.md). It reads what each unit of use costs in platform
 * operations from a benchmark results file (`scenarios.counts`, written by the suite's counts
 * scenario: bench/scenarios/counts.mjs; default: the newest full run in bench/results that has
 * them), multiplies by the stated assumptions (each with its source), and prints the daily and
 * peak load on every object class, database and queue against the platform's published limits,
 * and the monthly bill at Cloudflare's published prices. No count is typed in here: a count the
 * model needs and the file lacks is an error that names it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..");

/**
 * Where each limit and price was read, from the stored documentation pages the project's search
 * tool returns (their own "last updated" date where the page shows one).
 */
export const SOURCES = {
  doPricing: "developers.cloudflare.com/durable-objects/platform/pricing (stored copy, undated)",
  doLimits:
    "developers.cloudflare.com/durable-objects/reference/faq (stored copy, undated): soft limit of 1,000 requests/s per object",
  workersPricing:
    'developers.cloudflare.com/workflows/reference/pricing ("identical to Workers Standard pricing"; stored copy, undated)',
  d1Limits: "developers.cloudflare.com/d1/platform/limits (last updated Apr 21, 2026)",
  d1Throughput:
    "cloudflare-docs src/content/partials/d1/faq-limits.mdx (PR #26369): one database is single-threaded, ~1,000 queries/s at 1 ms each",
  d1Pricing:
    "api-evangelist cloudflare-d1 finops (quoting developers.cloudflare.com/d1/platform/pricing); the official page's stored copy was not found",
  queuesLimits: "developers.cloudflare.com/queues/platform/limits (stored copy, undated)",
  queuesPricing:
    "api-evangelist cloudflare-queues pricing (quoting developers.cloudflare.com/queues/platform/pricing): $0.40/M operations, 3 per message",
  r2Pricing:
    "learn-etelej-com.pages.dev/cloudflare/notes/pricing (a digest of the official pages), stored copy",
  doSqlPricing:
    "DO SQLite storage rows and GB-month: blog.cloudflare.com/sqlite-in-durable-objects (Sept 2024, as the DO changelog of Dec 12, 2025 cites it); the same per-row prices as D1",
};

/** Cloudflare's published prices (USD), Workers Paid plan. */
export const PRICES = {
  base_per_month: { usd: 5, source: SOURCES.workersPricing },
  worker_requests: { included: 10e6, per_million: 0.3, source: SOURCES.workersPricing },
  worker_cpu_ms: { included: 30e6, per_million: 0.02, source: SOURCES.workersPricing },
  do_requests: {
    included: 1e6,
    per_million: 0.15,
    /** Incoming WebSocket messages are billed 20:1; auto-responses (heartbeats) not at all. */
    websocket_ratio: 20,
    source: SOURCES.doPricing,
  },
  do_gb_s: { included: 400e3, per_million: 12.5, gb_per_object: 0.128, source: SOURCES.doPricing },
  do_rows_read: { included: 25e9, per_million: 0.001, source: SOURCES.doSqlPricing },
  do_rows_written: { included: 50e6, per_million: 1.0, source: SOURCES.doSqlPricing },
  do_storage_gb_month: { included: 5, per_gb: 0.2, source: SOURCES.doSqlPricing },
  d1_rows_read: { included: 25e9, per_million: 0.001, source: SOURCES.d1Pricing },
  d1_rows_written: { included: 50e6, per_million: 1.0, source: SOURCES.d1Pricing },
  d1_storage_gb_month: { included: 5, per_gb: 0.75, source: SOURCES.d1Pricing },
  queue_operations: { included: 1e6, per_million: 0.4, per_message: 3, source: SOURCES.queuesPricing },
  r2_class_a: { included: 1e6, per_million: 4.5, source: SOURCES.r2Pricing },
  r2_class_b: { included: 10e6, per_million: 0.36, source: SOURCES.r2Pricing },
  r2_storage_gb_month: { included: 10, per_gb: 0.015, source: SOURCES.r2Pricing },
};

/**
 * Hosted chat services' list prices, applied to the same modeled usage where they are usage
 * based (Ably, PubNub); where a price per MAU could not be read from a stored page, it is not
 * guessed (`null`, docs/capacity.md says so).
 */
export const HOSTED = {
  ably: {
    usd_per_million_messages: 2.5,
    usd_per_thousand_peak_connections: 20,
    source:
      "ably.com/pricing/full-calculator (stored copy): overage $2.50 per million messages (each publish and each delivery counts) and $20.00 per 1,000 peak connections",
  },
  pubnub: {
    usd_per_publish: 0.000123,
    usd_per_delivery: 0.000033,
    source:
      "pubnub.com/docs/general/resources/pricing (stored copy): $0.000123 per replicated transaction (a publish), $0.000033 per edge transaction (a delivery to a subscriber)",
  },
  stream: {
    usd_per_1k_mau: null,
    source: "getstream.io/chat/pricing: the stored copies show the plans' MAU tiers but not their prices",
  },
  sendbird: {
    usd_per_1k_mau: null,
    source: "sendbird.com pricing: no stored copy of the price list was found",
  },
};

/** The platform's published limits the model checks. */
export const LIMITS = {
  d1_queries_per_s: { value: 1000, source: SOURCES.d1Throughput },
  d1_database_bytes: { value: 10e9, source: SOURCES.d1Limits },
  queue_messages_per_s: { value: 5000, source: SOURCES.queuesLimits },
  do_requests_per_s_per_object: { value: 1000, source: SOURCES.doLimits },
};

/**
 * The model's assumptions. Each has its source: a published figure, or the reasoning behind a
 * choice where nothing is published.
 */
export const ASSUMPTIONS = {
  dau: { value: 50e6, source: "SPEC.md, Scale: designed for 50 million daily active users" },
  registered_accounts: {
    value: 200e6,
    source: "issue #21: 200 million registered accounts (4 per daily user)",
  },
  dau_per_mau: {
    value: 0.5,
    source:
      "choice between Discord's ~0.15 (30 M DAU / 200 M MAU, voxbooster.com 2026) and WhatsApp's ~0.7 (1 billion daily of 1.5 billion monthly, itts.at / phonearena.com 2020)",
  },
  messages_per_user_day: {
    value: 40,
    source:
      "WhatsApp: ~100 billion messages/day for ~2 billion users, i.e. ≤ 50 per user (asianet.in, 2020); Discord: 200 M/day for 8.9 M DAU, ~22 (pocketgamer.biz, 2017); 40 sits between, near the heavier",
  },
  group_share: {
    value: 0.3,
    source: "choice: 30% of messages in groups (no published split found; 1:1 dominates personal messaging)",
  },
  group_members: {
    value: 20,
    source:
      "choice: mean members of a group a message goes to (Discord: ~15 active members daily per server, worldmetrics.org 2023); the cap is 100 (SPEC.md)",
  },
  peak_factor: {
    value: 3,
    source:
      "busiest hour over the mean hour: 2 for the daily cycle (the seeds' estimation convention, peak QPS = 2 × mean) times 1.5 for the busiest day (WhatsApp New Year's Eve, 100 B against ~65 B a usual day, phonearena.com 2020 / shareable.pk)",
  },
  hours_online_per_user_day: {
    value: 2,
    source:
      "Discord: engaged users spend 94 min/day (voxbooster.com 2026), rounded up; a user socket is open only while the app is",
  },
  devices_online_per_user: {
    value: 1.2,
    source:
      "choice: most users have one device open at a time; some a phone and a desktop (SPEC.md: many devices per account)",
  },
  sessions_per_user_day: {
    value: 10,
    source: "choice: the app is brought to the foreground (a connect and a resume) about ten times a day",
  },
  offline_share_dm: {
    value: 0.5,
    source:
      "choice: half of 1:1 messages reach a recipient with no device connected (a push), conversations being partly live",
  },
  offline_share_group: {
    value: 0.8,
    source: "choice: with 2 h online a day, most members of a group are offline when a message arrives",
  },
  reads_per_message: {
    value: 1,
    source:
      "choice: each message is read back from storage once (a resume or a history page on some device), besides its live delivery",
  },
  stored_bytes_per_message: {
    value: 300,
    source:
      "choice: a 100-character text with ids, seq and sender in the channel's SQLite (the benchmark's texts are 100 characters)",
  },
};

/** Units and the counts the model reads from each (bench/lib/platform-counts.mjs `emptyTally`). */
const FIELDS = [
  "worker_requests",
  "cpu_ms",
  "do_fetches",
  "do_rpc_calls",
  "do_websocket_messages",
  "do_alarms",
  "do_wall_ms",
  "do_rows_read",
  "do_rows_written",
  "d1_queries",
  "d1_rows_read",
  "d1_rows_written",
  "queue_sends",
  "queue_batches",
  "r2_class_a",
  "r2_class_b",
];
export const NEEDED = {
  connect: FIELDS,
  dm_message: FIELDS,
  group_message: FIELDS,
  offline_message: FIELDS,
  resume: FIELDS,
  user_hour: FIELDS,
};

/** The newest full benchmark run in `dir` that has the counts scenario. */
export function latestCounts(dir = join(ROOT, "bench", "results")) {
  const files = readdirSync(dir)
    .filter((f) => /^bench-.*\.json$/.test(f) && !f.includes("quick"))
    .sort()
    .reverse();
  for (const f of files) {
    const r = JSON.parse(readFileSync(join(dir, f), "utf8"));
    if (r.scenarios?.counts?.units) return join(dir, f);
  }
  throw new Error(`no results file in ${dir} has counts: run \`npm run bench -- --only counts\``);
}

/** The counts from a results object; throws, naming every count the model needs and lacks. */
export function readCounts(results) {
  const c = results?.scenarios?.counts;
  const missing = [];
  for (const [unit, fields] of Object.entries(NEEDED)) {
    for (const f of fields) {
      const v = c?.units?.[unit]?.[f];
      if (typeof v !== "number" || !Number.isFinite(v)) missing.push(`${unit}.${f}`);
    }
  }
  const members = c?.windows?.group_message?.members;
  if (typeof members !== "number") missing.push("windows.group_message.members");
  const missed = c?.windows?.resume?.missed;
  if (typeof missed !== "number") missing.push("windows.resume.missed");
  const d1Bytes = c?.windows?.setup?.d1_bytes_per_account;
  if (typeof d1Bytes !== "number") missing.push("windows.setup.d1_bytes_per_account");
  if (missing.length) throw new Error(`the results lack counts the model needs: ${missing.join(", ")}`);
  return {
    units: c.units,
    groupMembers: members,
    resumeMissed: missed,
    d1BytesPerAccount: d1Bytes,
    at: results.at,
    commit: results.git?.commit,
  };
}

const DAYS_PER_MONTH = 365.25 / 12;

/** a + (b − a)·k, field by field. */
function lerp(a, b, k) {
  const out = {};
  for (const f of FIELDS) out[f] = a[f] + (b[f] - a[f]) * k;
  return out;
}
function add(...terms) {
  const out = Object.fromEntries(FIELDS.map((f) => [f, 0]));
  for (const [unit, times] of terms) for (const f of FIELDS) out[f] += unit[f] * times;
  return out;
}

/**
 * The model: per-day volumes per daily user, the load at 50 M DAU (daily, monthly, at the peak
 * second) against the limits, and the monthly bill. `a`: assumptions (values only).
 */
export function model(
  counts,
  a = Object.fromEntries(Object.entries(ASSUMPTIONS).map(([k, v]) => [k, v.value])),
) {
  const u = counts.units;
  // A group message to g members, linear between the 1:1 (2 members) and the measured group.
  const k = (a.group_members - 2) / (counts.groupMembers - 2);
  const groupOnline = lerp(u.dm_message, u.group_message, k);
  // What a push adds to a member being updated: the offline 1:1 less the live one, per count
  // (never below zero: an offline recipient sends no markers).
  const pushExtra = Object.fromEntries(
    FIELDS.map((f) => [f, Math.max(0, u.offline_message[f] - u.dm_message[f])]),
  );
  // One message read back from storage: the resume less a plain connect, per missed message.
  const read = Object.fromEntries(
    FIELDS.map((f) => [f, Math.max(0, (u.resume[f] - u.connect[f]) / counts.resumeMissed)]),
  );
  const m = a.messages_per_user_day;
  const perUserDay = add(
    [u.dm_message, m * (1 - a.group_share) * (1 - a.offline_share_dm)],
    [u.offline_message, m * (1 - a.group_share) * a.offline_share_dm],
    [groupOnline, m * a.group_share],
    [pushExtra, m * a.group_share * (a.group_members - 1) * a.offline_share_group],
    [u.connect, a.sessions_per_user_day],
    [read, m * a.reads_per_message],
    [u.user_hour, a.hours_online_per_user_day * a.devices_online_per_user],
  );
  const daily = Object.fromEntries(FIELDS.map((f) => [f, perUserDay[f] * a.dau]));
  const monthly = Object.fromEntries(FIELDS.map((f) => [f, daily[f] * DAYS_PER_MONTH]));
  const peak = Object.fromEntries(FIELDS.map((f) => [f, (daily[f] / 86400) * a.peak_factor]));

  // Billed quantities per month.
  const doRequests =
    monthly.do_fetches +
    monthly.do_rpc_calls +
    monthly.do_alarms +
    monthly.do_websocket_messages / PRICES.do_requests.websocket_ratio;
  const messagesPerMonth = a.dau * m * DAYS_PER_MONTH;
  const storedGbPerMonth = (messagesPerMonth * a.stored_bytes_per_message) / 1e9;
  const bill = [
    ["Workers Paid plan", 1, null, PRICES.base_per_month.usd],
    ["Worker requests", monthly.worker_requests + monthly.queue_batches, PRICES.worker_requests],
    // The runtime's whole CPU (objects and local simulators included) billed as Worker CPU: an
    // upper bound; objects are billed by duration, not CPU.
    ["Worker CPU ms (upper bound: the runtime's CPU)", monthly.cpu_ms, PRICES.worker_cpu_ms],
    ["DO requests (WebSocket messages 20:1)", doRequests, PRICES.do_requests],
    [
      "DO duration GB-s (active wall time)",
      (monthly.do_wall_ms / 1000) * PRICES.do_gb_s.gb_per_object,
      PRICES.do_gb_s,
    ],
    ["DO SQLite rows read", monthly.do_rows_read, PRICES.do_rows_read],
    ["DO SQLite rows written", monthly.do_rows_written, PRICES.do_rows_written],
    [
      "DO SQLite storage GB-month (one month's messages)",
      storedGbPerMonth,
      PRICES.do_storage_gb_month,
      null,
      "gb",
    ],
    ["D1 rows read", monthly.d1_rows_read, PRICES.d1_rows_read],
    ["D1 rows written", monthly.d1_rows_written, PRICES.d1_rows_written],
    ["Queue operations", monthly.queue_sends * PRICES.queue_operations.per_message, PRICES.queue_operations],
    ["R2 Class A", monthly.r2_class_a, PRICES.r2_class_a],
    ["R2 Class B", monthly.r2_class_b, PRICES.r2_class_b],
  ].map(([what, quantity, price, fixed, kind]) => {
    let usd = fixed ?? 0;
    if (price && kind === "gb") usd = Math.max(0, quantity - price.included) * price.per_gb;
    else if (price) usd = (Math.max(0, quantity - price.included) / 1e6) * price.per_million;
    return { what, quantity, usd };
  });
  const total = bill.reduce((s, b) => s + b.usd, 0);
  const mau = a.dau / a.dau_per_mau;

  const limit = (what, load, lim, unit, note = "") => ({
    what,
    load,
    limit: lim.value,
    unit,
    share: load / lim.value,
    over_half: load / lim.value > 0.5,
    source: lim.source,
    note,
  });
  const loads = [
    limit("D1 (the one database): queries/s at peak", peak.d1_queries, LIMITS.d1_queries_per_s, "queries/s"),
    limit(
      "D1 (the one database): size",
      a.registered_accounts * counts.d1BytesPerAccount,
      LIMITS.d1_database_bytes,
      "bytes",
      `${counts.d1BytesPerAccount} bytes per account measured, a lower bound`,
    ),
    limit(
      "Queue `push` (the one queue): messages/s at peak",
      peak.queue_sends,
      LIMITS.queue_messages_per_s,
      "msg/s",
    ),
  ];
  // The same usage on the usage-priced hosted services: every message published once and
  // delivered to each online device of its recipients; connections at the peak.
  const deliveriesPerMessage =
    ((1 - a.group_share) * (1 - a.offline_share_dm) +
      a.group_share * (a.group_members - 1) * (1 - a.offline_share_group)) *
    a.devices_online_per_user;
  const peakConnections =
    ((a.dau * a.hours_online_per_user_day) / 24) * a.devices_online_per_user * a.peak_factor;
  const hosted = {
    ably:
      ((messagesPerMonth * (1 + deliveriesPerMessage)) / 1e6) * HOSTED.ably.usd_per_million_messages +
      (peakConnections / 1000) * HOSTED.ably.usd_per_thousand_peak_connections,
    pubnub:
      messagesPerMonth * HOSTED.pubnub.usd_per_publish +
      messagesPerMonth * deliveriesPerMessage * HOSTED.pubnub.usd_per_delivery,
  };
  const per1k = (usdPerMonth) => usdPerMonth / (mau / 1000);
  return {
    hosted_usd_per_1k_mau: {
      ably: per1k(hosted.ably),
      pubnub: per1k(hosted.pubnub),
      stream: HOSTED.stream.usd_per_1k_mau,
      sendbird: HOSTED.sendbird.usd_per_1k_mau,
    },
    peak_connections: peakConnections,
    assumptions: a,
    per_user_day: perUserDay,
    daily,
    monthly,
    peak,
    presence_alarms_per_s_peak: peak.do_alarms,
    loads,
    bill,
    total_usd_per_month: total,
    mau,
    usd_per_1k_mau: total / (mau / 1000),
    usd_per_1k_dau: total / (a.dau / 1000),
    counts_from: { at: counts.at, commit: counts.commit },
  };
}

const num = (v) => {
  if (v === 0) return "0";
  const abs = Math.abs(v);
  if (abs >= 1e12) return `${(v / 1e12).toFixed(2)} T`;
  if (abs >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (abs >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (abs >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  if (abs >= 100) return v.toFixed(0);
  return v.toFixed(abs >= 1 ? 2 : 4);
};
const usd = (v) => `$${v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(2)}`;

/** The model as text (what `npm run capacity` prints). */
export function render(m, file) {
  const out = [];
  out.push(`Capacity model at ${num(m.assumptions.dau)} DAU (${num(m.mau)} MAU), counts from ${file}`);
  out.push(`(measured ${m.counts_from.at} on commit ${m.counts_from.commit})`);
  out.push("");
  out.push("Assumptions:");
  for (const [k, v] of Object.entries(ASSUMPTIONS)) out.push(`  ${k} = ${m.assumptions[k]}   [${v.source}]`);
  out.push("");
  out.push("Load:                          per user-day      per day      per month   peak per s");
  for (const f of FIELDS)
    out.push(
      `  ${f.padEnd(26)} ${num(m.per_user_day[f]).padStart(12)} ${num(m.daily[f]).padStart(12)} ${num(m.monthly[f]).padStart(14)} ${num(m.peak[f]).padStart(12)}`,
    );
  out.push("");
  out.push("Against the published limits:");
  for (const l of m.loads)
    out.push(
      `  ${l.what}: ${num(l.load)} of ${num(l.limit)} ${l.unit} = ${(l.share * 100).toFixed(1)}%${l.over_half ? "  ** OVER HALF **" : ""}${l.note ? ` (${l.note})` : ""}   [${l.source}]`,
    );
  out.push(
    `  presence sweep alarms at peak: ${num(m.presence_alarms_per_s_peak)}/s (no published limit; billed as DO requests)`,
  );
  out.push("");
  out.push("Monthly bill (Workers Paid, list prices):");
  for (const b of m.bill)
    out.push(`  ${b.what.padEnd(52)} ${num(b.quantity).padStart(12)} ${usd(b.usd).padStart(12)}`);
  out.push(`  ${"total".padEnd(52)} ${"".padStart(12)} ${usd(m.total_usd_per_month).padStart(12)}`);
  out.push("");
  out.push(
    `Cost per 1,000 MAU: ${usd(m.usd_per_1k_mau)}   per 1,000 DAU: ${usd(m.usd_per_1k_dau)}   (prices: ${Object.values(SOURCES).length} sources in scripts/capacity.mjs)`,
  );
  out.push("Hosted services at the same usage, per 1,000 MAU (list prices):");
  for (const [name, v] of Object.entries(m.hosted_usd_per_1k_mau))
    out.push(`  ${name.padEnd(10)} ${v === null ? "not verified" : usd(v)}   [${HOSTED[name].source}]`);
  return out.join("\n");
}

/** The same as markdown tables, for docs/capacity.md (`npm run capacity -- --markdown`). */
export function renderMarkdown(m, counts, file) {
  const out = [];
  const cols = [
    ["Worker requests", "worker_requests"],
    ["DO requests", "do_requests"],
    ["RPCs", "do_rpc_calls"],
    ["WebSocket msgs", "do_websocket_messages"],
    ["alarms", "do_alarms"],
    ["DO rows read", "do_rows_read"],
    ["DO rows written", "do_rows_written"],
    ["D1 queries", "d1_queries"],
    ["D1 rows read", "d1_rows_read"],
    ["D1 rows written", "d1_rows_written"],
    ["queue msgs", "queue_sends"],
    ["R2 A / B", null],
    ["CPU ms", "cpu_ms"],
  ];
  out.push(`Counts from \`${file.replace(`${ROOT}/`, "")}\` (commit ${m.counts_from.commit}).`, "");
  out.push(`| unit | ${cols.map(([h]) => h).join(" | ")} |`);
  out.push(`| --- | ${cols.map(() => "---:").join(" | ")} |`);
  for (const [unit, c] of Object.entries(counts.units))
    out.push(
      `| ${unit} | ${cols.map(([, k]) => (k ? num(c[k] ?? 0) : `${num(c.r2_class_a)} / ${num(c.r2_class_b)}`)).join(" | ")} |`,
    );
  out.push("", "| load at 50 M DAU | at peak | published limit | share |", "| --- | ---: | ---: | ---: |");
  for (const l of m.loads)
    out.push(
      `| ${l.what} | ${num(l.load)} | ${num(l.limit)} ${l.unit} | ${(l.share * 100).toFixed(0)}%${l.over_half ? " **over half**" : ""} |`,
    );
  out.push(`| presence sweep alarms/s at peak | ${num(m.presence_alarms_per_s_peak)} | none published | – |`);
  out.push("", "| monthly bill line | quantity | USD |", "| --- | ---: | ---: |");
  for (const b of m.bill) out.push(`| ${b.what} | ${num(b.quantity)} | ${usd(b.usd)} |`);
  out.push(`| **total** | | **${usd(m.total_usd_per_month)}** |`);
  out.push("", `Per 1,000 MAU: **${usd(m.usd_per_1k_mau)}**; per 1,000 DAU: ${usd(m.usd_per_1k_dau)}.`);
  out.push(
    `Hosted, same usage, per 1,000 MAU: Ably ${usd(m.hosted_usd_per_1k_mau.ably)}, PubNub ${usd(m.hosted_usd_per_1k_mau.pubnub)}.`,
  );
  return out.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const file = args.find((x) => !x.startsWith("--")) ?? latestCounts();
  const counts = readCounts(JSON.parse(readFileSync(file, "utf8")));
  const m = model(counts);
  if (args.includes("--json")) console.log(JSON.stringify(m, null, 2));
  else if (args.includes("--markdown")) console.log(renderMarkdown(m, counts, file));
  else console.log(render(m, file));
}
