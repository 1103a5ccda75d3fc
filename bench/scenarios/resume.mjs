/**
 * resume: a device is offline while its friend posts `messages` messages in their 1:1 chat.
 * It then reconnects its user socket and sends `resume` with its cursor; the figure is the
 * time from that frame to `resumed`, with every page in between (docs/protocol.md §7.2), and
 * the check that the pages held each missed message exactly once, in order. The messages are
 * posted once; each repetition reconnects the same device with the same cursor, so each is the
 * same catch-up of the same messages. There is no floor counterpart: the floor stores nothing.
 */
import { performance } from "node:perf_hooks";
import { sendFrame, waitFor } from "../lib/load.mjs";
import { befriendAll, openDm, seedUsers } from "../lib/seed.mjs";
import { closeAll, connectProduct, makeApi, sleep } from "../lib/sockets.mjs";
import { Tracker } from "../lib/tracker.mjs";

const WINDOW = 200;

export async function setupResume(server, stats) {
  const api = makeApi(server.base);
  const [reader, poster] = await seedUsers(server, 2, { prefix: "rs" });
  await befriendAll(api, [[reader, poster]]);
  const channelId = await openDm(api, reader, poster);
  const ref = { tracker: null };
  const post = await connectProduct(
    api,
    poster.devices[0],
    channelId,
    (text, at) => {
      if (text.startsWith('{"v":1,"type":"ack"'))
        ref.tracker?.ack(/"client_msg_id":"([^"]+)"/.exec(text)[1], at);
    },
    stats,
  );
  let head0 = 0;
  let missed = { from: 0, to: 0, count: 0 };

  /** The reader's inbox head for the channel (REST), to know the missed messages have landed. */
  const head = async () => {
    const { channels } = await api("GET", "/v1/channels", { token: reader.devices[0].token });
    return channels.find((c) => c.channel_id === channelId)?.head_seq ?? 0;
  };

  /**
   * Posts `count` messages while the reader is offline, at most WINDOW unacknowledged; `textOf(i)`
   * gives the i-th text (default: the suite's 100 x's).
   */
  async function postOffline(tag, count, textOf = undefined) {
    const t = new Tracker(tag, count, 1);
    ref.tracker = t;
    const t0 = performance.now();
    let i = 0;
    while (i < count) {
      while (i < count && i - t.acks < WINDOW) {
        const k = i++;
        post.send(sendFrame(t.markSent(k, 0), textOf?.(k)));
      }
      await waitFor(() => i - t.acks < WINDOW / 2 || t.acks === i, 30_000, 2);
    }
    await waitFor(() => t.acks === count, 30_000, 5);
    const postMs = performance.now() - t0;
    ref.tracker = null;
    missed = { from: head0, to: head0 + count, count };
    head0 += count;
    // The reader's user object learns the head by the channel's (1 s, the reader being
    // offline) update; the resume is measured once it has.
    let landed = false;
    const deadline = performance.now() + 15_000;
    while (!landed && performance.now() < deadline) {
      landed = (await head()) >= missed.to;
      if (!landed) await sleep(100);
    }
    return {
      posted: count,
      posted_in_ms: Math.round(postMs),
      posted_per_s: Math.round((count / postMs) * 1000),
      unacked: count - t.acks,
      inbox_had_head: landed,
    };
  }

  /** The reader reconnects and resumes from the cursor it had before the posts. */
  async function run(tag) {
    const cursor = missed.from;
    const target = missed.to;
    const count = missed.count;
    // Reconnect and resume from the cursor.
    const seqs = [];
    let resumed = null;
    let pages = 0;
    let tResume = 0;
    let tResumed = 0;
    let done;
    const finished = new Promise((r) => {
      done = r;
    });
    const tConnect = performance.now();
    const ws = await connectProduct(
      api,
      reader.devices[0],
      undefined,
      (text, at) => {
        const f = JSON.parse(text);
        if (f.type === "messages" && f.channel_id === channelId) {
          pages++;
          for (const m of f.messages) seqs.push(m.seq);
        } else if (f.type === "resumed" && f.ref === tag) {
          resumed = f;
          tResumed = at;
          done();
        }
      },
      stats,
    );
    tResume = performance.now();
    ws.send(
      JSON.stringify({ v: 1, type: "resume", id: tag, cursors: [{ channel_id: channelId, seq: cursor }] }),
    );
    let timer;
    const ok = await Promise.race([
      finished.then(() => true),
      new Promise((r) => {
        timer = setTimeout(r, 60_000, false);
      }),
    ]);
    clearTimeout(timer);
    await closeAll([ws]);

    let duplicates = 0;
    let outOfOrder = 0;
    const seen = new Set();
    for (let k = 0; k < seqs.length; k++) {
      if (seen.has(seqs[k])) duplicates++;
      seen.add(seqs[k]);
      if (k > 0 && seqs[k] <= seqs[k - 1]) outOfOrder++;
    }
    let missingSeqs = 0;
    for (let s = cursor + 1; s <= target; s++) if (!seen.has(s)) missingSeqs++;
    const result = {
      messages_missed: count,
      cursor,
      head: target,
      resumed: ok,
      resume_to_resumed_ms: ok ? Math.round((tResumed - tResume) * 10) / 10 : null,
      connect_to_resumed_ms: ok ? Math.round((tResumed - tConnect) * 10) / 10 : null,
      pages,
      received: seqs.length,
      resumed_frame_messages: resumed?.messages ?? null,
      lost: missingSeqs,
      duplicates,
      out_of_order: outOfOrder,
      exactly_once_in_order:
        ok && missingSeqs === 0 && duplicates === 0 && outOfOrder === 0 && seqs.length === count,
    };
    return result;
  }

  return { postOffline, run, sockets: [post], channelId, poster, reader };
}
