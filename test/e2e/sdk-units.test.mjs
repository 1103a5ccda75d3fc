// The client SDK's pure parts (client/src), without a server: the message log's cursor and
// dedupe rules, receipt counting, text rules, the typing throttle, and the REST layer's
// single-flight refresh against a scripted fetch, the friends list under live frames, and the
// check of each channel's hash chain.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChainCheck, ChainIntegrityError } from "../../client/src/chain-check.ts";
import { ChatApiError } from "../../client/src/chat-api-error.ts";
import { FriendBook } from "../../client/src/friend-book.ts";
import { MessageLog } from "../../client/src/message-log.ts";
import { preview, textProblem } from "../../client/src/message-text.ts";
import { ReceiptBook } from "../../client/src/receipts.ts";
import { Rest } from "../../client/src/rest.ts";
import { SnapshotClock } from "../../client/src/snapshot-clock.ts";
import { TypingThrottle } from "../../client/src/typing.ts";
import { GENESIS_HASH, messageHash } from "../../domain/log-chain.ts";
import { sha256 } from "../../domain/sha256.ts";

const CH = "gr_01JD8Z5E6F7G8H9J0K1M2N3P4Q";
const msg = (seq, extra = {}) => ({
  channel_id: CH,
  seq,
  id: `id${seq}`,
  sender_id: "U",
  client_msg_id: `c${seq}`,
  text: `t${seq}`,
  ts: seq,
  ...extra,
});

describe("MessageLog", () => {
  it("keeps the first copy of a seq and moves the cursor only over contiguous messages", () => {
    const log = new MessageLog();
    assert.deepEqual(log.add(msg(1)), { added: true, unknown: true, gap: false });
    log.setCursor(CH, 1);
    assert.deepEqual(log.add(msg(3)), { added: true, unknown: false, gap: true });
    assert.equal(log.cursor(CH), 1);
    assert.deepEqual(log.gaps(), [CH]);
    assert.deepEqual(log.add(msg(2)), { added: true, unknown: false, gap: false });
    assert.equal(log.cursor(CH), 3);
    assert.deepEqual(log.add(msg(2, { text: "a later copy" })), { added: false, unknown: false, gap: false });
    assert.deepEqual(
      log.sorted(CH).map((m) => [m.seq, m.text]),
      [
        [1, "t1"],
        [2, "t2"],
        [3, "t3"],
      ],
    );
  });

  it("skips to a page's start only forwards; messages from before it stay where they are", () => {
    const log = new MessageLog();
    log.setCursor(CH, 0);
    log.skipTo(CH, 50); // joined at 50: nothing visible before
    assert.equal(log.cursor(CH), 50);
    log.skipTo(CH, 10);
    assert.equal(log.cursor(CH), 50);
    log.add(msg(51));
    assert.equal(log.cursor(CH), 51);
    log.add(msg(20)); // scroll-back below the cursor
    assert.equal(log.oldest(CH), 20);
    assert.equal(log.cursor(CH), 51);
    assert.equal(log.hasGap(CH), false);
  });

  it("a cursor of a channel loaded late absorbs the live messages that raced its page", () => {
    const log = new MessageLog();
    log.add(msg(11));
    log.add(msg(12));
    for (let s = 1; s <= 10; s++) log.add(msg(s));
    log.setCursor(CH, 10);
    assert.equal(log.cursor(CH), 12);
    assert.deepEqual(log.cursors(), [{ channel_id: CH, seq: 12 }]);
    log.dropCursor(CH);
    assert.deepEqual(log.cursors(), []);
    assert.equal(log.sorted(CH).length, 12, "messages stay readable");
  });
});

describe("ReceiptBook", () => {
  it("counts only other members who could see the message, and never lowers a marker", () => {
    const book = new ReceiptBook();
    book.raise(CH, "bob", "delivered_seq", 60); // a frame before the snapshot
    book.snapshot({
      channel_id: CH,
      members: [
        { user_id: "alice", joined_seq: 0, delivered_seq: 57, read_seq: 57 },
        { user_id: "bob", joined_seq: 0, delivered_seq: 57, read_seq: 50 },
        { user_id: "carol", joined_seq: 0, delivered_seq: 41, read_seq: 41 },
        { user_id: "dave", joined_seq: 52, delivered_seq: 52, read_seq: 52 },
      ],
    });
    assert.deepEqual(book.ticks(CH, 45, "alice"), { others: 2, delivered: 1, read: 1 });
    assert.deepEqual(book.ticks(CH, 55, "alice"), { others: 3, delivered: 1, read: 0 });
    assert.deepEqual(
      book.ticks(CH, 59, "alice"),
      { others: 3, delivered: 1, read: 0 },
      "bob's frame (60) kept",
    );
    assert.equal(book.raise(CH, "carol", "read_seq", 40), false);
    assert.equal(book.raise(CH, "carol", "read_seq", 55), true);
    assert.deepEqual(
      book.ticks(CH, 55, "alice"),
      { others: 3, delivered: 2, read: 1 },
      "read implies delivered",
    );
  });
});

describe("text rules and typing", () => {
  it("refuses blank and over-long texts as the server would, counting code points", () => {
    assert.equal(textProblem(" \n\t")?.code, "message_empty");
    assert.equal(textProblem("😀".repeat(100_000)), null);
    assert.equal(textProblem("😀".repeat(100_001))?.code, "message_too_long");
    assert.equal(textProblem(" hi "), null);
    assert.equal(preview("😀ab", 2), "😀a");
  });

  it("lets one typing frame out per 3 s per channel, and after a send one a second at most", () => {
    const t = new TypingThrottle();
    assert.equal(t.take(CH, 0), true);
    assert.equal(t.take(CH, 2_999), false);
    assert.equal(t.take("other", 1_000), true);
    assert.equal(t.take(CH, 3_000), true);
    t.reset(CH);
    // Within the server's one typing per socket per second (LIMIT_TYPING_PER_SOCKET): refused.
    assert.equal(t.take(CH, 3_500), false);
    assert.equal(t.take(CH, 4_000), true);
    // Five messages a second, each typed first: one typing frame a second leaves, never more.
    let frames = 0;
    for (let ms = 4_001; ms < 14_000; ms += 200) {
      if (t.take(CH, ms)) frames++;
      t.reset(CH);
    }
    assert.ok(frames <= 10, `${frames} typing frames in 10 s`);
  });

  it("a frame newer than a snapshot in flight wins over it", () => {
    const clock = new SnapshotClock();
    clock.touch("a");
    const started = clock.start();
    clock.touch("b");
    assert.equal(clock.stale("a", started), false);
    assert.equal(clock.stale("b", started), true);
    assert.equal(clock.stale("c", started), false);
  });
});

describe("FriendBook", () => {
  const user = (id) => ({ id, handle: id.toLowerCase(), display_name: id, deleted: false });
  const frame = (id, state, since = 1) => ({ v: 1, type: "friend", user: user(id), state, since });

  it("applies friend frames, and a snapshot requested before a frame does not undo it", () => {
    const book = new FriendBook();
    book.snapshot({ friends: [{ user: user("A"), state: "friends", since: 1 }], blocked: [] }, book.start());
    const started = book.start(); // a refresh is in flight...
    book.apply(frame("B", "incoming")); // ...when B's request arrives live
    book.apply(frame("A", "none")); // and A unfriends
    assert.deepEqual(
      book.list.friends.map((f) => [f.user.id, f.state]),
      [["B", "incoming"]],
    );
    // The refresh read the list before both frames: it knows neither.
    const old = { friends: [{ user: user("A"), state: "friends", since: 1 }], blocked: [] };
    const merged = book.snapshot(old, started);
    assert.deepEqual(
      merged.friends.map((f) => [f.user.id, f.state]),
      [["B", "incoming"]],
    );
    // A later snapshot is taken as it is.
    book.apply(frame("C", "blocked"));
    const fresh = { friends: [{ user: user("D"), state: "outgoing", since: 2 }], blocked: [] };
    assert.deepEqual(book.snapshot(fresh, book.start()), fresh);
  });
});

describe("Rest", () => {
  /** A Rest over a scripted server: `/v1/auth/refresh` rotates tokens, others need the current access token. */
  function scripted({ refreshFails = false } = {}) {
    let session = {
      user_id: "U",
      device_id: "D",
      handle: "h",
      access_token: "a0",
      refresh_token: "r0",
      access_expires_at: Date.now() + 900_000,
    };
    let stored = session;
    let valid = "a0"; // the access token the server accepts
    const log = [];
    const signedOut = [];
    let n = 0;
    const json = (status, body) => new Response(JSON.stringify(body), { status });
    const rest = new Rest({
      baseUrl: "http://chat.test/",
      timeoutMs: 5_000,
      fetch: async (url, init) => {
        const path = new URL(url).pathname;
        log.push(path);
        await new Promise((r) => setTimeout(r, 5));
        if (path === "/v1/auth/refresh") {
          if (refreshFails) return json(401, { error: { code: "unauthenticated", message: "log in again" } });
          n++;
          valid = `a${n}`;
          return json(200, {
            user_id: "U",
            device_id: "D",
            access_token: `a${n}`,
            refresh_token: `r${n}`,
            expires_in: 900,
          });
        }
        const token = init.headers.authorization?.slice("Bearer ".length);
        if (token !== valid) return json(401, { error: { code: "token_expired", message: "expired" } });
        return json(200, { ok: path });
      },
      session: () => session,
      storedSession: async () => stored,
      adopt: async (s) => {
        stored = s; // persisted first
        session = s;
      },
      signedOut: (reason) => signedOut.push(reason),
    });
    return {
      rest,
      log,
      signedOut,
      expire: () => {
        valid = "none yet"; // the client's token ran out
      },
      stored: () => stored,
    };
  }

  it("concurrent token_expired answers share one refresh; the rotated token is stored", async () => {
    const s = scripted();
    s.expire();
    const results = await Promise.all([1, 2, 3, 4].map((i) => s.rest.request("GET", `/things/${i}`)));
    assert.deepEqual(
      results.map((r) => r.ok),
      ["/v1/things/1", "/v1/things/2", "/v1/things/3", "/v1/things/4"],
    );
    assert.equal(s.log.filter((p) => p === "/v1/auth/refresh").length, 1);
    assert.equal(s.stored().refresh_token, "r1");
  });

  it("a refused refresh signs the device out as expired and throws unauthenticated", async () => {
    const s = scripted({ refreshFails: true });
    s.expire();
    await assert.rejects(
      s.rest.request("GET", "/v1/users/me"),
      (err) => err instanceof ChatApiError && err.code === "unauthenticated" && err.status === 401,
    );
    assert.deepEqual(s.signedOut, ["expired"]);
  });

  it("a request with no answer times out as a network error instead of hanging", async () => {
    const rest = new Rest({
      baseUrl: "http://chat.test",
      timeoutMs: 50,
      // A half-dead connection: the request is sent and nothing ever comes back.
      fetch: (_url, init) =>
        new Promise((_resolve, reject) =>
          init.signal.addEventListener("abort", () => reject(init.signal.reason)),
        ),
      session: () => null,
      storedSession: async () => null,
      adopt: async () => {},
      signedOut: () => {},
    });
    await assert.rejects(
      rest.request("GET", "/push/vapid-public-key", undefined, { auth: false }),
      (err) =>
        err instanceof ChatApiError && err.code === "network" && /no answer within 50 ms/.test(err.message),
    );
  });

  it("a network failure is a ChatApiError with code network and status 0", async () => {
    const rest = new Rest({
      baseUrl: "http://chat.test",
      timeoutMs: 5_000,
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
      session: () => null,
      storedSession: async () => null,
      adopt: async () => {},
      signedOut: () => {},
    });
    await assert.rejects(
      rest.request("GET", "/push/vapid-public-key", undefined, { auth: false }),
      (err) => err instanceof ChatApiError && err.code === "network" && err.status === 0,
    );
  });
});

describe("ChainCheck", () => {
  // A channel's log as the server writes it: each message's hash chains it to the one before.
  const chained = (n, channel = CH) => {
    const out = [];
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= n; seq++) {
      const m = { ...msg(seq), channel_id: channel, hash: "" };
      m.hash = messageHash(sha256, channel, prev, m);
      prev = m.hash;
      out.push(m);
    }
    return out;
  };
  const log = chained(30);
  const at = (seq) => log[seq - 1];
  const prevOf = (seq) => (seq === 1 ? GENESIS_HASH : at(seq - 1).hash);
  const refused = (fn, seq) =>
    assert.throws(
      fn,
      (err) => err instanceof ChainIntegrityError && err.code === "integrity" && err.seq === seq,
    );

  it("takes pages and live messages in any order, each checked against what is held on both sides", () => {
    const check = new ChainCheck();
    check.page(CH, prevOf(21), log.slice(20, 25)); // the newest page: 21..25, anchored at 20
    check.one(at(26)); // live, chains to 25
    check.one(at(28)); // live beyond a gap: taken on its own hash for now
    check.page(CH, prevOf(11), log.slice(10, 20)); // an older page ending just before 21
    check.page(CH, prevOf(27), [at(27)]); // the gap's fill, checked against 28 after it
    check.page(CH, GENESIS_HASH, log.slice(0, 10)); // back to the start
    check.page(CH, prevOf(5), log.slice(4, 8)); // copies of held messages, identical
  });

  it("refuses an altered, lost, reordered or foreign message, and a page that does not continue", () => {
    const check = new ChainCheck();
    check.page(CH, prevOf(11), log.slice(10, 20));
    // Altered text, same hash (what a tampering store or transport can do).
    refused(() => check.page(CH, prevOf(1), [at(1), { ...at(2), text: "changed" }, at(3)]), 2);
    // A lost message in the middle of a page.
    refused(() => check.page(CH, prevOf(1), [at(1), at(3)]), 3);
    // Reordered.
    refused(() => check.page(CH, prevOf(1), [at(2), at(1)]), 2);
    // A page whose stated start is not the held hash.
    refused(() => check.page(CH, at(5).hash, [at(21)]), 21);
    // A page ending just before a held message it does not chain to (10 altered, hash recomputed).
    const forged = { ...at(10), text: "forged" };
    forged.hash = messageHash(sha256, CH, prevOf(10), forged);
    refused(() => check.page(CH, prevOf(10), [forged]), 10);
    // A live message that does not follow the held one before it.
    refused(() => check.one({ ...at(21), text: "changed" }), 21);
    // Another channel's message in this channel's page.
    refused(() => check.page(CH, prevOf(21), [{ ...at(21), channel_id: "gr_OTHER" }]), 21);
    // None of it was held: the real messages still fit.
    check.page(CH, prevOf(1), log.slice(0, 10));
    check.page(CH, prevOf(21), log.slice(20, 30));
  });

  it("anchors a member who joined later at the join point its first page gives", () => {
    const check = new ChainCheck();
    // Joined at 12 with nothing since: an empty page whose next_after_seq is the join point.
    check.page(CH, at(12).hash, [], 12);
    check.one(at(13));
    refused(() => check.one({ ...at(14), hash: at(13).hash }), 14);
    const other = new ChainCheck();
    other.page(CH, at(12).hash, [], 12);
    refused(() => other.one({ ...at(13), text: "not what was sent" }), 13);
  });
});
