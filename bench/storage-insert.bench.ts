/**
 * Micro-benchmark of the ChannelRoom `messages` table inside a real Durable Object in workerd:
 * raw `ctx.storage.sql.exec` against drizzle (drizzle-orm/durable-sqlite), for inserts and for
 * the page read of `ChannelStore.after`. Run: `npm run bench:storage` (bench/storage-insert.mjs
 * runs this file through bench/vitest.config.ts and writes bench/results/).
 *
 * Timing: workerd may hold the clock still during synchronous code (Spectre mitigation), so
 * every timed variant is one `runInDurableObject` call timed from the test side, across the
 * await; the cost of an empty call on the same object is measured alongside and subtracted.
 * The object's own clock across the same work is kept as a cross-check only (under local
 * workerd it does advance, and agrees). A wall time of 0 fails the run: nothing was measured.
 * Each insert variant gets a fresh object (its constructor has run drizzle's migrations, so
 * the tables exist); reads run on the object the store variant just filled.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { asc, gt, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { expect, it } from "vitest";
import type { ChannelRoom } from "../durable-objects/channel-room/channel-room.ts";
import type { WireMessage } from "../protocol/frames.ts";
import { messages } from "../storage/channel/schema.ts";
import { ChannelStore } from "../storage/channel/store.ts";

const N = 5_000;
const REPS = 3;
/** Untimed rounds of every variant first, so the measured ones run JIT-warm code. */
const WARMUP_REPS = 1;
const TEXT_CHARS = 100;
/** Reads: pages of 200 over the newest 2,000 rows (what the store's memory tail also holds). */
const PAGE = 200;
const READ_FROM = N - 2_000;
const READ_LOOPS = 50;
const EMPTY_CALLS = 5;

type Storage = DurableObjectStorage;
type Row = typeof messages.$inferInsert;

const CHANNEL_ID = "c_bench";
const rows: Row[] = Array.from({ length: N }, (_, i) => ({
  seq: i + 1,
  id: `m_${String(i).padStart(24, "0")}`,
  senderId: `u_sender_${i % 7}`,
  clientMsgId: `cm-${i}`,
  text: `${i} ${"lorem ipsum dolor sit amet ".repeat(4)}`.padEnd(TEXT_CHARS, "x").slice(0, TEXT_CHARS),
  ts: 1_790_000_000_000 + i,
}));
const wire: Omit<WireMessage, "seq" | "hash" | "msg_count">[] = rows.map((r) => ({
  channel_id: CHANNEL_ID,
  id: r.id,
  sender_id: r.senderId,
  client_msg_id: r.clientMsgId,
  text: r.text,
  ts: r.ts,
}));

const INSERT_SQL =
  "INSERT INTO messages (seq, id, sender_id, client_msg_id, text, ts) VALUES (?, ?, ?, ?, ?, ?)";

interface Variant {
  key: string;
  label: string;
  run: (storage: Storage) => void;
}

const inserts: Variant[] = [
  {
    key: "a_raw_exec",
    label: "(a) raw `sql.exec` INSERT",
    run: (storage) => {
      for (const r of rows)
        storage.sql.exec(INSERT_SQL, r.seq, r.id, r.senderId, r.clientMsgId, r.text, r.ts);
    },
  },
  {
    key: "b_drizzle_insert",
    label: "(b) drizzle `insert().values(row).run()`",
    run: (storage) => {
      const db = drizzle(storage);
      for (const r of rows) db.insert(messages).values(r).run();
    },
  },
  {
    key: "c_drizzle_prepared",
    label: "(c) drizzle insert `.prepare()` once, `.run(row)`",
    run: (storage) => {
      const q = drizzle(storage)
        .insert(messages)
        .values({
          seq: sql.placeholder("seq"),
          id: sql.placeholder("id"),
          senderId: sql.placeholder("senderId"),
          clientMsgId: sql.placeholder("clientMsgId"),
          text: sql.placeholder("text"),
          ts: sql.placeholder("ts"),
        })
        .prepare();
      for (const r of rows) q.run(r);
    },
  },
  {
    key: "d_store_append",
    label: "(d) `ChannelStore.append` (INSERT … ON CONFLICT DO NOTHING; head in memory)",
    run: (storage) => {
      const store = new ChannelStore(storage.sql);
      for (const m of wire) store.append(m);
      tailStore = store;
    },
  },
];

/** The (d) store of the current repetition: its memory tail holds the newest 2,000 messages. */
let tailStore: ChannelStore | undefined;

const pageStarts = Array.from({ length: (N - READ_FROM) / PAGE }, (_, i) => READ_FROM + i * PAGE);

const reads: Variant[] = [
  {
    key: "r1_store_after_sql",
    label: "store `after(seq, 200)` (SQLite, tail empty)",
    run: (storage) => {
      const store = new ChannelStore(storage.sql);
      for (let l = 0; l < READ_LOOPS; l++) for (const s of pageStarts) store.after(s, PAGE);
    },
  },
  {
    key: "r2_drizzle_select",
    label: "drizzle `select().where(gt).orderBy.limit(200)`",
    run: (storage) => {
      const db = drizzle(storage);
      for (let l = 0; l < READ_LOOPS; l++)
        for (const s of pageStarts)
          db.select().from(messages).where(gt(messages.seq, s)).orderBy(asc(messages.seq)).limit(PAGE).all();
    },
  },
  {
    key: "r3_drizzle_select_prepared",
    label: "drizzle select `.prepare()` once, `.all({after})`",
    run: (storage) => {
      const q = drizzle(storage)
        .select()
        .from(messages)
        .where(gt(messages.seq, sql.placeholder("after")))
        .orderBy(asc(messages.seq))
        .limit(PAGE)
        .prepare();
      for (let l = 0; l < READ_LOOPS; l++) for (const s of pageStarts) q.all({ after: s });
    },
  },
  {
    key: "r4_store_after_tail",
    label: "store `after(seq, 200)` (memory tail, for reference)",
    run: () => {
      const store = tailStore!;
      for (let l = 0; l < READ_LOOPS; l++) for (const s of pageStarts) store.after(s, PAGE);
    },
  },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** One call into the object, timed from outside. Also returns the object's own view of the time. */
async function timed(
  stub: DurableObjectStub<ChannelRoom>,
  fn: (storage: Storage) => void,
): Promise<{ ms: number; insideMs: number }> {
  let insideMs = -1;
  const t0 = performance.now();
  await runInDurableObject(stub, (_room: ChannelRoom, state) => {
    const i0 = performance.now();
    fn(state.storage);
    insideMs = performance.now() - i0;
  });
  return { ms: performance.now() - t0, insideMs };
}

/** A fresh, woken ChannelRoom with a channel row, and the median cost of an empty call to it. */
async function freshRoom(): Promise<{ stub: DurableObjectStub<ChannelRoom>; emptyMs: number }> {
  const stub = env.CHANNEL_ROOM.getByName(crypto.randomUUID()) as DurableObjectStub<ChannelRoom>;
  await runInDurableObject(stub, (_room: ChannelRoom, state) => {
    new ChannelStore(state.storage.sql).createChannel({
      channelId: CHANNEL_ID,
      kind: "group",
      name: "bench",
      ownerId: "u_sender_0",
      createdAt: 0,
    });
  });
  const empty: number[] = [];
  for (let i = 0; i < EMPTY_CALLS; i++) empty.push((await timed(stub, () => {})).ms);
  return { stub, emptyMs: median(empty) };
}

interface Sample {
  rep: number;
  wallMs: number;
  emptyMs: number;
  netMs: number;
  insideMs: number;
}

it("storage: raw sql.exec vs drizzle on the messages table", async () => {
  const samples = new Map<string, Sample[]>([...inserts, ...reads].map((v) => [v.key, []]));
  const record = (key: string, rep: number, t: { ms: number; insideMs: number }, emptyMs: number) => {
    if (rep < 1) return;
    // A wall time of 0 means the clock did not move across the call: nothing was measured.
    expect(t.ms, `${key}: the clock did not advance`).toBeGreaterThan(0);
    samples.get(key)!.push({
      rep,
      wallMs: t.ms,
      emptyMs,
      netMs: Math.max(t.ms - emptyMs, 0),
      insideMs: t.insideMs,
    });
  };

  for (let rep = 1 - WARMUP_REPS; rep <= REPS; rep++) {
    let lastRoom: Awaited<ReturnType<typeof freshRoom>> | undefined;
    for (const v of inserts) {
      const room = await freshRoom();
      record(v.key, rep, await timed(room.stub, v.run), room.emptyMs);
      // Every variant wrote the same N rows.
      await runInDurableObject(room.stub, (_room: ChannelRoom, state) => {
        const n = state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one().n;
        expect(n).toBe(N);
      });
      lastRoom = room;
    }
    // Reads, on the object (d) just filled, interleaved the same way.
    const room = lastRoom!;
    if (rep === 1 - WARMUP_REPS) {
      await runInDurableObject(room.stub, (_room: ChannelRoom, state) => {
        const fromStore = new ChannelStore(state.storage.sql).after(READ_FROM, PAGE).map((m) => m.id);
        const fromTail = tailStore!.after(READ_FROM, PAGE).map((m) => m.id);
        const fromDrizzle = drizzle(state.storage)
          .select()
          .from(messages)
          .where(gt(messages.seq, READ_FROM))
          .orderBy(asc(messages.seq))
          .limit(PAGE)
          .all()
          .map((m) => m.id);
        expect(fromStore).toHaveLength(PAGE);
        expect(fromDrizzle).toEqual(fromStore);
        expect(fromTail).toEqual(fromStore);
      });
    }
    for (const v of reads) record(v.key, rep, await timed(room.stub, v.run), room.emptyMs);
  }

  const summarize = (vs: Variant[], perOp: number, baseKey: string) => {
    const base = median(samples.get(baseKey)!.map((s) => s.netMs));
    return vs.map((v) => {
      const ss = samples.get(v.key)!;
      const net = ss.map((s) => s.netMs);
      return {
        key: v.key,
        label: v.label,
        median_us_per_row: round((median(net) * 1000) / perOp),
        min_us_per_row: round((Math.min(...net) * 1000) / perOp),
        max_us_per_row: round((Math.max(...net) * 1000) / perOp),
        ratio_to_base: round(median(net) / base),
        samples: ss.map((s) => ({
          rep: s.rep,
          wall_ms: round(s.wallMs),
          empty_call_ms: round(s.emptyMs),
          net_ms: round(s.netMs),
          inside_ms: round(s.insideMs),
        })),
      };
    });
  };
  const readRows = READ_LOOPS * pageStarts.length * PAGE;
  const result = {
    settings: {
      rows: N,
      text_chars: TEXT_CHARS,
      reps: REPS,
      warmup_reps: WARMUP_REPS,
      read: {
        page: PAGE,
        pages: READ_LOOPS * pageStarts.length,
        rows: readRows,
        after_seq_from: READ_FROM,
        to_seq: N,
      },
      timing:
        "one runInDurableObject call per variant and repetition, timed from the test side; median empty call on the same object subtracted",
    },
    inserts: summarize(inserts, N, "a_raw_exec"),
    reads: summarize(reads, readRows, "r1_store_after_sql"),
  };

  const table = (title: string, baseName: string, rs: typeof result.inserts) =>
    [
      `| ${title} | median µs/row | min–max µs/row | × ${baseName} |`,
      "|---|---:|---:|---:|",
      ...rs.map(
        (r) =>
          `| ${r.label} | ${r.median_us_per_row.toFixed(2)} | ${r.min_us_per_row.toFixed(2)}–${r.max_us_per_row.toFixed(2)} | ${r.ratio_to_base.toFixed(2)} |`,
      ),
    ].join("\n");
  console.log(
    [
      `Inserts: ${N} rows of ${TEXT_CHARS} chars per variant, ${REPS} interleaved repetitions (after ${WARMUP_REPS} untimed), fresh object each.`,
      table("insert variant", "raw", result.inserts),
      "",
      `Reads: ${result.settings.read.pages} pages of ${PAGE} (${readRows} rows) per variant, seq ${READ_FROM}–${N}.`,
      table("read variant", "store.after", result.reads),
      "",
      `Cross-check, ms by the object's own clock across its synchronous work (frozen in production workerd, advances under local workerd): ${[
        ...result.inserts,
        ...result.reads,
      ]
        .flatMap((r) => r.samples.map((s) => s.inside_ms))
        .join(", ")}`,
    ].join("\n"),
  );
  console.log(`RESULT_JSON ${JSON.stringify(result)}`);
});
