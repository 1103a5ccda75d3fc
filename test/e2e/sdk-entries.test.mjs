// The SDK's handling of the log's other entries (issue #19), without a server: what edits,
// deletes and reactions make of a message (client/src/entry-fold.ts) whatever order and copies
// they come in, a reply's quote, what this device has not had stored yet, the entries built from
// acks and the frames and REST calls sent for them (client/src/outbox-sender.ts), and the chain
// check of entries whose text was deleted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChainCheck, ChainIntegrityError } from "../../client/src/chain-check.ts";
import { EntryFold } from "../../client/src/entry-fold.ts";
import { MessageLog } from "../../client/src/message-log.ts";
import { entryOf, frameOf, restOf } from "../../client/src/outbox-sender.ts";
import { GENESIS_HASH, messageDigest, messageHash, toHex } from "../../domain/log-chain.ts";
import { sha256 } from "../../domain/sha256.ts";

const CH = "gr_01JD8Z5E6F7G8H9J0K1M2N3P4Q";
const ME = "U_ME";
let counted = 0;
/** An entry of CH: a message by default; `extra` makes it an edit, delete or reaction. */
const entry = (seq, sender, extra = {}) => {
  if (extra.type === undefined) counted++;
  return {
    channel_id: CH,
    seq,
    id: `id${seq}`,
    sender_id: sender,
    client_msg_id: `c${seq}`,
    text: extra.type === undefined || extra.type === "edit" ? `t${seq}` : "",
    ts: 1000 + seq,
    msg_count: counted,
    hash: "",
    ...extra,
  };
};

/** A log and a fold fed the same entries, and the view of a held message. */
function harness() {
  const log = new MessageLog();
  const fold = new EntryFold(() => ME);
  const held = (seq) => log.get(CH, seq);
  return {
    log,
    fold,
    add(...entries) {
      for (const m of entries) {
        log.add(m);
        fold.add(m);
        if (m.type === "delete") log.redact(CH, [m.target_seq, ...fold.editsOf(CH, m.target_seq)]);
      }
    },
    view: (seq, local) => fold.view(held(seq), held, local),
  };
}

describe("EntryFold", () => {
  it("shows the newest edit, each user's reaction, and a tombstone that drops every text", () => {
    const h = harness();
    h.add(entry(1, "A"), entry(2, "B", { type: "reaction", target_seq: 1, emoji: "👍" }));
    h.add(entry(3, ME, { type: "reaction", target_seq: 1, emoji: "👍" }));
    h.add(entry(4, "A", { type: "edit", target_seq: 1, text: "fixed" }));
    h.add(entry(5, "C", { type: "reaction", target_seq: 1, emoji: "❤️" }));
    let v = h.view(1);
    assert.equal(v.text, "fixed");
    assert.deepEqual(v.edited, { seq: 4, ts: 1004 });
    assert.deepEqual(
      v.reactions.map((r) => [r.emoji, r.count, r.mine]),
      [
        ["👍", 2, true],
        ["❤️", 1, false],
      ],
    );
    // B changes their mind, I take mine back: one reaction per user, newest seq wins.
    h.add(entry(6, "B", { type: "reaction", target_seq: 1, emoji: "❤️" }));
    h.add(entry(7, ME, { type: "reaction", target_seq: 1, emoji: "" }));
    v = h.view(1);
    assert.deepEqual(
      v.reactions.map((r) => [r.emoji, r.user_ids.sort().join()]),
      [["❤️", "B,C"]],
    );
    h.add(entry(8, "A", { type: "delete", target_seq: 1 }));
    v = h.view(1);
    assert.equal(v.text, "");
    assert.deepEqual(v.deleted, { seq: 8, ts: 1008, by: "A" });
    assert.deepEqual(v.reactions, []);
    assert.equal(h.log.get(CH, 1).text, "", "the message's text left the device's memory");
    assert.equal(h.log.get(CH, 4).text, "", "and so did its edit's");
  });

  it("applies on top of a message's state only the entries after its as_of, whatever copies came first", () => {
    const h = harness();
    // The server's page copy of message 1, resolved at seq 9: edited at 4, reactions of B and C.
    const resolved = entry(1, "A", {
      state: {
        as_of: 9,
        edited: { seq: 4, ts: 1004, text: "v2" },
        reactions: [{ emoji: "👍", user_ids: ["B", "C"] }],
      },
    });
    // Entries this device held already, before and after as_of (those before are in the state).
    h.add(entry(4, "A", { type: "edit", target_seq: 1, text: "v2" }));
    h.add(entry(5, "B", { type: "reaction", target_seq: 1, emoji: "😮" })); // before as_of: B's later 👍 stands
    h.add(resolved);
    h.add(entry(10, "C", { type: "reaction", target_seq: 1, emoji: "" }));
    h.add(entry(11, "A", { type: "edit", target_seq: 1, text: "v3" }));
    const v = h.view(1);
    assert.equal(v.text, "v3");
    assert.deepEqual(
      v.reactions.map((r) => [r.emoji, r.user_ids.join()]),
      [["👍", "B"]],
    );
    // The same entry again changes nothing, and the view keeps its identity.
    h.add(entry(11, "A", { type: "edit", target_seq: 1, text: "v3" }));
    assert.equal(h.view(1), v);
  });

  it("quotes a reply from the message it answers when held, and shows it deleted once it is", () => {
    const h = harness();
    h.add(
      entry(1, "A"),
      entry(2, "B", { reply_to: 1, reply: { seq: 1, sender_id: "A", preview: "t1", deleted: false } }),
    );
    assert.deepEqual(h.view(2).reply, { seq: 1, sender_id: "A", preview: "t1", deleted: false });
    h.add(entry(3, "A", { type: "edit", target_seq: 1, text: "edited" }));
    assert.equal(h.view(2).reply.preview, "edited");
    h.add(entry(4, "A", { type: "delete", target_seq: 1 }));
    assert.deepEqual(h.view(2).reply, { seq: 1, sender_id: "A", preview: "", deleted: true });
  });

  it("takes the server's quote of a message not held here, made current by a delete held here", () => {
    const h = harness();
    h.add(entry(50, "B", { reply_to: 3, reply: { seq: 3, sender_id: "A", preview: "old", deleted: false } }));
    assert.equal(h.view(50).reply.preview, "old");
    h.add(entry(51, "A", { type: "delete", target_seq: 3 }));
    assert.equal(h.view(50).reply.deleted, true);
  });

  it("shows what this device asked for and the server has not stored yet, on top", () => {
    const h = harness();
    h.add(entry(1, ME), entry(2, "B", { type: "reaction", target_seq: 1, emoji: "👍" }));
    const v = h.view(1, { edit: { text: "soon", at: 5 }, reaction: "👍" });
    assert.equal(v.text, "soon");
    assert.equal(v.edited.pending, true);
    assert.deepEqual(
      v.reactions.map((r) => [r.emoji, r.count, r.mine]),
      [["👍", 2, true]],
    );
    const gone = h.view(1, { delete: { at: 6 } });
    assert.equal(gone.text, "");
    assert.equal(gone.deleted.pending, true);
    // Without local changes, the stored state again.
    assert.equal(h.view(1).text, "t1");
  });
});

describe("entries this device writes", () => {
  const outbox = (kind, extra = {}) => ({
    client_msg_id: "k-1",
    channel_id: CH,
    text: kind === undefined || kind === "edit" ? "new text" : "",
    created_at: 1,
    status: "pending",
    ...(kind && { kind, target_seq: 7 }),
    ...extra,
  });

  it("sends each kind as its frame and its REST call", () => {
    assert.deepEqual(frameOf(outbox(undefined, { reply_to: 3 })), {
      type: "send",
      id: "k-1",
      client_msg_id: "k-1",
      text: "new text",
      reply_to: 3,
    });
    assert.deepEqual(frameOf(outbox("edit")), {
      type: "edit",
      id: "k-1",
      client_msg_id: "k-1",
      target_seq: 7,
      text: "new text",
    });
    assert.deepEqual(frameOf(outbox("delete")), {
      type: "delete",
      id: "k-1",
      client_msg_id: "k-1",
      target_seq: 7,
    });
    assert.deepEqual(frameOf(outbox("reaction", { emoji: "👍" })), {
      type: "react",
      id: "k-1",
      client_msg_id: "k-1",
      target_seq: 7,
      emoji: "👍",
    });
    assert.equal(restOf(outbox("reaction", { emoji: "" })).path, `/v1/channels/${CH}/messages/7/reactions`);
    assert.deepEqual(restOf(outbox("delete")).body, { client_msg_id: "k-1" });
  });

  it("builds from an ack exactly the entry the server chained", () => {
    for (const [kind, extra] of [
      [undefined, { reply_to: 3 }],
      ["edit", {}],
      ["delete", {}],
      ["reaction", { emoji: "🇫🇷" }],
    ]) {
      const e = outbox(kind, extra);
      const ack = {
        client_msg_id: "k-1",
        channel_id: CH,
        seq: 8,
        id: "id8",
        ts: 1008,
        msg_count: 5,
        hash: "",
      };
      const built = entryOf(e, ack, ME);
      // The server's entry, as it hashes it.
      const server = {
        ...(kind && { type: kind, target_seq: 7 }),
        seq: 8,
        id: "id8",
        sender_id: ME,
        client_msg_id: "k-1",
        text: e.text,
        ts: 1008,
        ...extra,
      };
      assert.equal(
        messageHash(sha256, CH, GENESIS_HASH, built),
        messageHash(sha256, CH, GENESIS_HASH, server),
      );
    }
  });
});

describe("ChainCheck of entries", () => {
  it("takes edits, deletes, reactions and deleted texts by their digest, and refuses a digest with a text", () => {
    const raw = [
      entry(1, "A"),
      entry(2, "B", { type: "edit", target_seq: 1, text: "x" }),
      entry(3, "B", { type: "reaction", target_seq: 1, emoji: "👍" }),
      entry(4, "A", { type: "delete", target_seq: 1 }),
    ];
    let prev = GENESIS_HASH;
    for (const m of raw) {
      m.hash = messageHash(sha256, CH, prev, m);
      prev = m.hash;
    }
    // The server's copy after the delete: 1 and its edit 2 without text, with their digests.
    const redact = (m) => ({ ...m, text: "", digest: toHex(messageDigest(sha256, CH, m)) });
    const served = [redact(raw[0]), redact(raw[1]), raw[2], raw[3]];
    new ChainCheck().page(CH, GENESIS_HASH, served);
    // A device that held the texts before checks the tombstones against the same hashes.
    const check = new ChainCheck();
    check.page(CH, GENESIS_HASH, raw);
    check.page(CH, GENESIS_HASH, served);
    assert.throws(
      () => new ChainCheck().page(CH, GENESIS_HASH, [{ ...served[0], text: "t1" }]),
      (err) => err instanceof ChainIntegrityError && err.seq === 1,
    );
  });
});
