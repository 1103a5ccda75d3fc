// Edits, deletes, reactions and replies (issue #19) against the real Worker, through the SDK:
// two devices of one user see them, in order, the one viewing the conversation live, the other
// after it was offline; the conversation list counts messages only; the chain checks throughout
// (a failed check is an `error` event, which fails the test).
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { bootWorker } from "../../scripts/boot-worker.mjs";
import { TIER_LIMITS } from "./limits.mjs";
import { befriend, PASSWORD, signup, tracker, waitFor } from "./sdk-helpers.mjs";

let server;
const t = tracker();

before(async () => {
  server = await bootWorker({ vars: { ...TIER_LIMITS } });
});

afterEach(() => t.closeAll());

after(async () => {
  await server?.close();
});

/** The messages a device shows, as the user sees them. */
const view = (client, ch) =>
  client
    .conversationOf(ch)
    .messages()
    .filter((m) => m.status === "sent")
    .map((m) => ({
      seq: m.seq,
      text: m.text,
      edited: m.edited !== undefined,
      deleted: m.deleted !== undefined,
      reactions: m.reactions.map((r) => `${r.emoji}${r.count}`).join(" "),
      reply: m.reply ? `${m.reply.seq}:${m.reply.deleted ? "deleted" : m.reply.preview}` : null,
    }));

describe("entries through the SDK", () => {
  it("two devices see an edit, a delete, a reaction and a reply in order, one of them after being offline", async () => {
    const alice = await signup(t, server.url, "alice");
    const bobPhone = await signup(t, server.url, "bob");
    const bobLaptop = t.client(server.url);
    await bobLaptop.login({ handle: bobPhone.session.handle, password: PASSWORD });
    await befriend(alice, bobPhone);
    const { channel_id: ch } = await alice.openDm(bobPhone.session.user_id);
    const errors = [];
    for (const c of [alice, bobPhone, bobLaptop]) c.on("error", (e) => errors.push(e));

    for (const c of [alice, bobPhone, bobLaptop]) c.connect();
    alice.conversationOf(ch).open();
    bobPhone.conversationOf(ch).open();
    await waitFor("all open", () => [alice, bobPhone, bobLaptop].every((c) => c.state === "open"));
    await waitFor("both viewing", () => [alice, bobPhone].every((c) => c.conversationState === "open"));

    const convo = alice.conversationOf(ch);
    convo.send("helo");
    convo.send("delete me");
    await waitFor("bob's devices hold both", () =>
      [bobPhone, bobLaptop].every((c) => view(c, ch).length === 2),
    );
    // The laptop goes offline; everything else happens without it.
    bobLaptop.disconnect();

    await convo.edit(1, "hello");
    await bobPhone.conversationOf(ch).react(1, "👍");
    await convo.delete(2);
    bobPhone.conversationOf(ch).reply(1, "hi alice");
    await waitFor("the reply stored", () => view(bobPhone, ch).some((m) => m.text === "hi alice"));
    await alice.conversationOf(ch).react(1, "🎉");

    const expected = [
      { seq: 1, text: "hello", edited: true, deleted: false, reactions: "👍1 🎉1", reply: null },
      { seq: 2, text: "", edited: false, deleted: true, reactions: "", reply: null },
      { seq: 6, text: "hi alice", edited: false, deleted: false, reactions: "", reply: "1:hello" },
    ];
    await waitFor("the phone, live", () => JSON.stringify(view(bobPhone, ch)) === JSON.stringify(expected));
    await waitFor("alice", () => JSON.stringify(view(alice, ch)) === JSON.stringify(expected));

    // The laptop comes back and resumes from its cursor: the same, in order.
    bobLaptop.connect();
    await waitFor(
      "the laptop, after being offline",
      () => JSON.stringify(view(bobLaptop, ch)) === JSON.stringify(expected),
    );
    assert.equal(bobLaptop.cursor(ch), 7);
    // Bob's reply moved his read marker to seq 6; Alice's reaction after it (seq 7) is no message:
    // nothing is unread for him, though the log's head is past his marker.
    const entry = () => bobLaptop.conversations().find((c) => c.channel_id === ch);
    await waitFor("the laptop's list", () => entry()?.head_seq === 7);
    assert.equal(entry().read_seq, 6);
    assert.equal(entry().head_msg_count, 3);
    assert.equal(entry().unread, 0);
    assert.deepEqual(errors, []);
  });
});
