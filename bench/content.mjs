/**
 * content: attachments, search and "download my data" (issue #20), against the real Worker on
 * 127.0.0.1 with wrangler.toml's archive settings (segments of 1,000 messages, 5,000 kept hot:
 * most of a long history is in R2), its limits raised only where the benchmark itself would hit
 * them. Figures:
 *
 * - search in one channel of `big` (100,000) messages, once its index caught up: p50/p99 of
 *   `GET /v1/channels/{id}/search` (first page of 20) for a rare word, a common word, a Korean
 *   two-syllable word and a Korean one-syllable word; and how long the index took to catch up
 *   after the last message;
 * - search across `convs` (50) conversations of `perConv` messages each: p50/p99 of
 *   `GET /v1/search` for the same kinds of query;
 * - upload and download of a `fileMB` (10) MB file of random bytes through the Worker
 *   (`POST` and `GET /v1/channels/{id}/attachments…`), against a plain R2 put and get of the same
 *   bytes in the same run (through the local runtime's binding proxy: the same process, the same
 *   local R2), interleaved, `reps` times each; MB/s;
 * - "download my data": the whole export of the reader of the big channel (`scope=all`) and of
 *   its poster (`scope=mine`), each timed to its last byte, as ms per 10,000 messages.
 *
 * Run: npm run bench:content [-- --quick]. Prints the figures and writes
 * bench/results/content-<stamp>.json (quick runs: bench/results/quick/).
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ROOT } from "../scripts/boot-worker.mjs";
import { chatText, QUERIES } from "./lib/chat-text.ts";
import { waitFor } from "./lib/load.mjs";
import { befriendAll, openDm, seedUsers } from "./lib/seed.mjs";
import { bootProduct, SEND_VARS } from "./lib/servers.mjs";
import { closeAll, connectProduct, makeApi, pool, socketStats } from "./lib/sockets.mjs";
import { summarize } from "./lib/tracker.mjs";

const QUICK = process.argv.includes("--quick");
const CFG = QUICK
  ? { big: 5_000, convs: 10, perConv: 100, queries: 20, fileMB: 2, reps: 2 }
  : { big: 100_000, convs: 50, perConv: 200, queries: 200, fileMB: 10, reps: 5 };

const VARS = {
  ...SEND_VARS,
  LIMIT_SEARCHES_PER_USER: "1000000/1s",
  LIMIT_EXPORTS_PER_USER: "1000/1s",
  LIMIT_UPLOADS_PER_USER: "1000/1s",
  LIMIT_UPLOAD_BYTES_PER_USER: "1000000000000/1s",
  LIMIT_DOWNLOADS_PER_USER: "1000000/1s",
};

/** Posts `count` messages on one channel socket, at most 200 unacknowledged. */
async function post(api, device, channelId, count, textOf, stats) {
  let acks = 0;
  const ws = await connectProduct(
    api,
    device,
    channelId,
    (text) => {
      if (text.startsWith('{"v":1,"type":"ack"')) acks++;
    },
    stats,
  );
  let i = 0;
  while (i < count) {
    while (i < count && i - acks < 200) {
      const k = i++;
      ws.send(JSON.stringify({ v: 1, type: "send", client_msg_id: `c-${k}`, text: textOf(k) }));
    }
    await waitFor(() => i - acks < 100 || acks === i, 60_000, 2);
  }
  await waitFor(() => acks === count, 60_000, 5);
  return ws;
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const round = (ms) => Math.round(ms * 100) / 100;
const summary = (values) => {
  const s = summarize(values);
  return { n: values.length, p50: round(s.p50), p99: round(s.p99), max: round(s.max) };
};

const server = await bootProduct({ vars: VARS });
const api = makeApi(server.base);
const stats = socketStats();
const sockets = [];
const results = { at: new Date().toISOString(), quick: QUICK, cfg: CFG };
try {
  const [reader, poster, ...others] = await seedUsers(server, 2 + CFG.convs, { prefix: "ct" });
  await befriendAll(api, [[reader, poster], ...others.map((o) => [reader, o])]);
  const token = reader.devices[0].token;
  const auth = { authorization: `Bearer ${token}` };

  // ---- One channel of `big` messages.
  const big = await openDm(api, reader, poster);
  const t0 = performance.now();
  sockets.push(await post(api, poster.devices[0], big, CFG.big, chatText, stats));
  const postedMs = performance.now() - t0;
  const room = server.env.CHANNEL_ROOM.getByName(big);
  const behindAtLast = await room.searchIndexBehind(false);
  const catchUpMs = await timed(() => room.searchIndexBehind(true));
  const archive = await room.archiveStats();
  results.big_channel = {
    messages: CFG.big,
    posted_per_s: Math.round((CFG.big / postedMs) * 1000),
    index_behind_at_last_ack: behindAtLast,
    index_catch_up_ms: Math.round(catchUpMs),
    first_hot_seq: archive.first_hot_seq,
    database_bytes: archive.database_bytes,
  };
  const searchOne = {};
  for (const [label, q] of QUERIES) {
    const times = [];
    let hits = 0;
    for (let i = 0; i < CFG.queries; i++) {
      const t = performance.now();
      const res = await fetch(`${server.base}/v1/channels/${big}/search?q=${encodeURIComponent(q)}`, {
        headers: auth,
      });
      const body = await res.json();
      times.push(performance.now() - t);
      if (!res.ok) throw new Error(`search ${q}: ${res.status} ${JSON.stringify(body)}`);
      hits = body.hits.length;
    }
    searchOne[label] = { q, hits_on_first_page: hits, ms: summary(times) };
  }
  results.search_one_channel = searchOne;

  // ---- `convs` conversations of `perConv` messages each.
  const dms = await pool(others, 8, async (o) => {
    const id = await openDm(api, reader, o);
    sockets.push(await post(api, o.devices[0], id, CFG.perConv, (k) => chatText(k * 37), stats));
    return id;
  });
  await pool(dms, 8, (id) => server.env.CHANNEL_ROOM.getByName(id).searchIndexBehind(true));
  const searchAll = {};
  for (const [label, q] of QUERIES) {
    const times = [];
    let page;
    for (let i = 0; i < CFG.queries; i++) {
      const t = performance.now();
      const res = await fetch(`${server.base}/v1/search?q=${encodeURIComponent(q)}`, { headers: auth });
      page = await res.json();
      times.push(performance.now() - t);
      if (!res.ok) throw new Error(`search ${q}: ${res.status} ${JSON.stringify(page)}`);
    }
    searchAll[label] = {
      q,
      hits_on_first_page: page.hits.length,
      channels_searched: page.channels_searched,
      ms: summary(times),
    };
  }
  results.search_across = { conversations: CFG.convs + 1, ...searchAll };

  // ---- A file through the Worker against plain R2, interleaved.
  const bytes = randomBytes(CFG.fileMB * 1024 * 1024);
  const mb = bytes.length / (1024 * 1024);
  const t = { upload: [], download: [], r2_put: [], r2_get: [] };
  for (let r = 0; r < CFG.reps; r++) {
    let id;
    t.upload.push(
      await timed(async () => {
        const res = await fetch(`${server.base}/v1/channels/${big}/attachments?name=file-${r}.bin`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/octet-stream" },
          body: bytes,
        });
        const body = await res.json();
        if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(body)}`);
        id = body.attachment.id;
      }),
    );
    t.download.push(
      await timed(async () => {
        const res = await fetch(`${server.base}/v1/channels/${big}/attachments/${id}`, { headers: auth });
        const got = Buffer.from(await res.arrayBuffer());
        if (!got.equals(bytes)) throw new Error("download: other bytes");
      }),
    );
    const key = `bench/plain-${r}`;
    t.r2_put.push(await timed(() => server.env.ARCHIVE.put(key, bytes)));
    t.r2_get.push(
      await timed(async () => {
        const object = await server.env.ARCHIVE.get(key);
        const got = Buffer.from(await object.arrayBuffer());
        if (got.length !== bytes.length) throw new Error("r2 get: other size");
      }),
    );
    await server.env.ARCHIVE.delete(key);
  }
  const mbps = (list) => round(mb / (summarize(list).p50 / 1000));
  results.transfer = {
    file_mb: CFG.fileMB,
    upload_mb_s: mbps(t.upload),
    r2_put_mb_s: mbps(t.r2_put),
    download_mb_s: mbps(t.download),
    r2_get_mb_s: mbps(t.r2_get),
    ms: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summary(v)])),
  };

  // ---- Download my data.
  const exportOf = async (who, scope) => {
    let size = 0;
    const ms = await timed(async () => {
      const res = await fetch(`${server.base}/v1/account/export?scope=${scope}`, {
        headers: { authorization: `Bearer ${who.devices[0].token}` },
      });
      if (!res.ok) throw new Error(`export: ${res.status} ${await res.text()}`);
      let tail = Buffer.alloc(0);
      for await (const chunk of res.body) {
        size += chunk.byteLength;
        tail = Buffer.concat([tail, Buffer.from(chunk)]).subarray(-64);
      }
      if (tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])) < 0)
        throw new Error("export: no end record");
    });
    return { ms: Math.round(ms), bytes: size };
  };
  const all = await exportOf(reader, "all");
  const mine = await exportOf(poster, "mine");
  // The reader's export holds the big channel, the 50 others and the files uploaded above.
  const readerMessages = CFG.big + CFG.convs * CFG.perConv;
  results.export = {
    all: { messages: readerMessages, ...all, ms_per_10k: Math.round((all.ms / readerMessages) * 10_000) },
    mine: { messages: CFG.big, ...mine, ms_per_10k: Math.round((mine.ms / CFG.big) * 10_000) },
  };
} finally {
  await closeAll(sockets);
  await server.close();
}

console.log(JSON.stringify(results, null, 2));
const dir = join(ROOT, "bench", "results", ...(QUICK ? ["quick"] : []));
mkdirSync(dir, { recursive: true });
const file = join(dir, `content-${results.at.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${file}`);
