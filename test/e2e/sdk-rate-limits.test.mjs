// The SDK against a Worker with small limits (docs/protocol.md §9.6): a message refused as too
// fast is sent again with the same client_msg_id once `retry_after_ms` is over, exactly once
// per refusal, over the channel socket and over REST alike, and every message is stored once,
// in order; typing waits out its refusals; the app is told to slow down.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { bootWorker } from "../../scripts/boot-worker.mjs";
import { TIER_LIMITS } from "./limits.mjs";
import { befriend, history, sent, signup, tracker, waitFor } from "./sdk-helpers.mjs";

let server;
const t = tracker();

before(async () => {
  server = await bootWorker({
    vars: {
      ...TIER_LIMITS,
      // Bursts of 3, then one a second: a client sending 7 at once is refused 4 times at least.
      LIMIT_SENDS_PER_DEVICE: "3/3s",
      // One typing frame per 5 s, while the SDK sends one per 3 s: its second is refused.
      LIMIT_TYPING_PER_SOCKET: "1/5s",
    },
  });
});

afterEach(() => t.closeAll());

after(async () => {
  await server?.close();
});

/**
 * A WebSocket class that records, with the time, every frame the SDK sends and every `error`
 * frame it receives.
 */
function recording(log) {
  return class RecordingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (typeof e.data !== "string" || e.data === "pong") return;
        const f = JSON.parse(e.data);
        if (f.type === "error") log.push({ at: Date.now(), dir: "in", frame: f });
      });
    }
    send(data) {
      if (data !== "ping") log.push({ at: Date.now(), dir: "out", frame: JSON.parse(data) });
      super.send(data);
    }
  };
}

/** Alice (recorded) and Bob, friends with a 1:1 channel. */
async function pair(options = {}) {
  const log = [];
  const alice = await signup(t, server.url, "alice", { WebSocket: recording(log), ...options });
  const bob = await signup(t, server.url, "bob");
  await befriend(alice, bob);
  const { channel_id } = await alice.openDm(bob.session.user_id);
  return { alice, bob, ch: channel_id, log };
}

/**
 * Every refusal of a message, matched with what followed: exactly one resend of the same
 * client_msg_id, no sooner than `retry_after_ms` after the refusal.
 */
function assertResentOncePerRefusal(attempts) {
  const byId = new Map();
  for (const a of attempts) {
    const list = byId.get(a.id) ?? [];
    list.push(a);
    byId.set(a.id, list);
  }
  let refusals = 0;
  for (const [id, list] of byId) {
    list.sort((x, y) => x.sentAt - y.sentAt);
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      if (!a.refusal) {
        assert.equal(i, list.length - 1, `${id} was sent again after it was accepted`);
        continue;
      }
      refusals++;
      const next = list[i + 1];
      assert.ok(next, `${id} was refused and never sent again`);
      assert.ok(
        next.sentAt >= a.refusal.at + a.refusal.retryAfterMs - 2,
        `${id} went again ${next.sentAt - a.refusal.at} ms after its refusal, before its retry time (${a.refusal.retryAfterMs} ms)`,
      );
    }
  }
  return refusals;
}

describe("the SDK and the server's limits", () => {
  it("resends a message refused on the channel socket after its retry time, once per refusal, with the same id", async () => {
    const { alice, bob, ch, log } = await pair();
    const slowDowns = [];
    alice.on("error", (e) => {
      if (e.code === "rate_limited") slowDowns.push(e);
    });
    alice.connect();
    alice.openConversation(ch);
    await waitFor("alice's channel socket", () => alice.conversationState === "open");
    const texts = Array.from({ length: 7 }, (_, i) => `m${i + 1}`);
    for (const text of texts) alice.send(ch, text);
    await waitFor("every message sent", () => sent(alice, ch).length === texts.length, 30_000);

    const stored = await history(bob, ch);
    assert.deepEqual(
      stored.map((m) => m.text),
      texts,
      "each message stored once, in the order written",
    );
    // Pair every `send` frame with the refusal that answered it, if any.
    const sends = log.filter((l) => l.dir === "out" && l.frame.type === "send");
    const refusals = log.filter((l) => l.dir === "in" && l.frame.code === "rate_limited");
    const attempts = sends.map((s) => {
      const r = refusals.find((x) => x.frame.ref === s.frame.id && x.at >= s.at && !x.used);
      if (r) r.used = true;
      return {
        id: s.frame.client_msg_id,
        sentAt: s.at,
        refusal: r && { at: r.at, retryAfterMs: r.frame.retry_after_ms },
      };
    });
    assert.ok(refusals.length >= 4, `at least 4 refusals (${refusals.length})`);
    assert.equal(assertResentOncePerRefusal(attempts), refusals.length);
    for (const s of sends) assert.equal(s.frame.client_msg_id, s.frame.id);
    // The app was told to slow down, with the wait.
    assert.ok(slowDowns.length >= 1);
    assert.ok(slowDowns[0].retry_after_ms > 0 && slowDowns[0].client_msg_id);
  });

  it("resends a message refused over REST after Retry-After, once per refusal, in order", async () => {
    const posts = [];
    const recordingFetch = async (input, init) => {
      const sentAt = Date.now();
      const res = await fetch(input, init);
      const url = String(input);
      if (init?.method === "POST" && url.includes("/messages")) {
        const body = JSON.parse(init.body);
        const copy = res.clone();
        const json = await copy.json().catch(() => ({}));
        posts.push({
          id: body.client_msg_id,
          sentAt,
          status: res.status,
          refusal:
            res.status === 429 ? { at: Date.now(), retryAfterMs: json.error.retry_after_ms } : undefined,
        });
      }
      return res;
    };
    const { alice, bob, ch } = await pair({ fetch: recordingFetch });
    alice.connect(); // no conversation on screen: messages go over REST
    const texts = Array.from({ length: 6 }, (_, i) => `r${i + 1}`);
    for (const text of texts) alice.send(ch, text);
    await waitFor("every message sent", () => sent(alice, ch).length === texts.length, 30_000);
    assert.deepEqual(
      (await history(bob, ch)).map((m) => m.text),
      texts,
    );
    const refused = posts.filter((p) => p.status === 429);
    assert.ok(refused.length >= 1, "at least one post was refused");
    // A refusal counts from when its answer arrived; a resend from when it left.
    assert.equal(assertResentOncePerRefusal(posts), refused.length);
  });

  it("waits out a refused typing frame before sending another", async () => {
    const { alice, ch, log } = await pair();
    alice.connect();
    alice.openConversation(ch);
    await waitFor("alice's channel socket", () => alice.conversationState === "open");
    const until = Date.now() + 7_000;
    while (Date.now() < until) {
      alice.typing(ch); // every keystroke
      await new Promise((r) => setTimeout(r, 100));
    }
    const typings = log.filter((l) => l.dir === "out" && l.frame.type === "typing").map((l) => l.at);
    const refusal = log.find((l) => l.dir === "in" && l.frame.ref === "typing");
    assert.ok(refusal, "the server refused one typing frame");
    assert.equal(refusal.frame.code, "rate_limited");
    const during = typings.filter((at) => at > refusal.at && at < refusal.at + refusal.frame.retry_after_ms);
    assert.deepEqual(during, [], "no typing frame while the refusal lasted");
  });
});
