// The composer at the 100,000-character limit, which counts code points (docs/protocol.md §10):
// a pasted text is never cut (no `maxlength`, which counts UTF-16 units), a counter in code points
// shows near the limit, a text over it is refused with a reason before anything is sent, and a
// message refused as too long offers no Retry (a retry can never succeed) but Edit.
// Astral characters (two UTF-16 units each) throughout. Only Alice uses the browser; Bob is an API
// client, so what the server stored can be read back exactly. Pasting is `keyboard.insertText`,
// which goes through the browser's editing path as a paste does (and honours `maxlength`).
// Alice's channel socket passes through a route that records her `send` frames and, when a test
// says so, answers one with the server's refusal instead of forwarding it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  api,
  assertText,
  eventually,
  friendRow,
  handle,
  openChatWith,
  PASSWORD,
  send,
  setup,
  signUp,
} from "./helpers.mjs";

const cp = (text) => [...text].length;

describe("the composer near the limit", () => {
  let env;
  let alice;
  let bob;
  let channelId;
  const a = handle("alice");
  const b = handle("bob");
  /** `send` frames that left Alice's page on a channel socket. */
  const sends = [];
  /** When set, the next sends are answered with this error code instead of reaching the server. */
  let refuseWith = null;

  const input = () => alice.getByTestId("composer-input");
  const composerValue = () => input().inputValue();
  /** Pastes `text` into the empty composer. */
  async function paste(text) {
    await input().fill("");
    await input().focus();
    await alice.keyboard.insertText(text);
  }
  /** The texts Bob's API sees in the chat, newest last. */
  async function stored() {
    const page = await api(env.url, "GET", `/channels/${channelId}/messages?limit=10`, bob.token);
    return page.messages.map((m) => m.text);
  }

  before(async () => {
    env = await setup();
    alice = await env.newPage();
    await alice.routeWebSocket(/\/v1\/ws\/channels\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((raw) => {
        let frame = null;
        try {
          frame = JSON.parse(raw);
        } catch {
          // "ping"
        }
        if (frame?.type === "send") {
          sends.push(frame);
          if (refuseWith) {
            const message = `refused by the test: ${refuseWith}`;
            ws.send(JSON.stringify({ v: 1, type: "error", code: refuseWith, message, ref: frame.id }));
            return;
          }
        }
        server.send(raw);
      });
    });
    const signup = await api(env.url, "POST", "/auth/signup", undefined, {
      handle: b,
      display_name: "Bob",
      password: PASSWORD,
    });
    bob = { id: signup.user.id, token: signup.access_token };
    await signUp(alice, a, "Alice");
    await alice.getByTestId("tab-friends").click();
    await alice.getByTestId("friend-handle").fill(b);
    await alice.getByTestId("friend-add").click();
    await assertText(alice.getByTestId("friend-status"), /Request sent/);
    const { friends } = await api(env.url, "GET", "/friends", bob.token);
    await api(env.url, "POST", `/friends/${friends[0].user.id}/accept`, bob.token);
    await friendRow(alice, b, "friends").waitFor();
    await openChatWith(alice, b);
    channelId = await alice.getByTestId("conversation").getAttribute("data-channel-id");
  });
  after(() => env?.close());

  test("60,000 emoji (120,000 UTF-16 units) are neither cut nor counted as over: they go whole", async () => {
    await paste("😀".repeat(60_000));
    assert.equal(cp(await composerValue()), 60_000);
    assert.equal(await alice.getByTestId("composer-count").textContent(), "");
    await input().press("Enter");
    await eventually(async () => cp((await stored()).at(-1) ?? "") === 60_000, {
      what: "60,000 emoji stored",
    });
    assert.equal(await composerValue(), "");
  });

  test("exactly 100,000 astral characters: the counter shows 100,000 / 100,000 and the message goes", async () => {
    await paste("𝒜".repeat(100_000));
    assert.equal(cp(await composerValue()), 100_000);
    const counter = alice.getByTestId("composer-count");
    await assertText(counter, "100,000 / 100,000");
    assert.equal(await counter.getAttribute("data-state"), "near");
    await input().press("Enter");
    await eventually(async () => (await stored()).at(-1) === "𝒜".repeat(100_000), { what: "100,000 stored" });
    assert.equal(await counter.textContent(), "");
  });

  test("100,001: kept whole, counted over, and refused with a reason before anything is sent", async () => {
    const before = { sends: sends.length, messages: await alice.getByTestId("message").count() };
    await paste("𝒜".repeat(100_001));
    assert.equal(cp(await composerValue()), 100_001, "the paste is not cut");
    const counter = alice.getByTestId("composer-count");
    await assertText(counter, "100,001 / 100,000");
    assert.equal(await counter.getAttribute("data-state"), "over");
    assert.equal(await input().getAttribute("aria-invalid"), "true");

    await input().press("Enter");
    await alice.getByTestId("composer-send").click();
    const problem = await assertText(alice.getByTestId("composer-error"), "Too long to send");
    assert.match(problem, /100,001 characters, the limit is 100,000\. Remove 1 to send it\./);
    assert.equal(await alice.getByTestId("composer-error").getAttribute("role"), "alert");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sends.length, before.sends, "nothing left the page");
    assert.equal(await alice.getByTestId("message").count(), before.messages, "no echo, no failed message");
    assert.equal(cp(await composerValue()), 100_001, "the text stays to be shortened");

    // One character less (Backspace removes a whole astral character) fits, and the refusal goes.
    await input().press("End");
    await input().press("Backspace");
    await assertText(counter, "100,000 / 100,000");
    assert.equal(await alice.getByTestId("composer-error").textContent(), "");
    await input().fill("");
  });

  test("a message the server refuses as too long offers Edit, not Retry; a membership refusal offers Retry", async () => {
    refuseWith = "message_too_long";
    await send(alice, "refused 𝒜 text");
    const failed = alice.locator('[data-testid="message"][data-status="failed"]');
    await failed.waitFor();
    await assertText(failed.getByTestId("fail-reason"), "refused by the test: message_too_long");
    assert.equal(await failed.getByTestId("retry").count(), 0, "no Retry for message_too_long");
    assert.equal(await failed.getByTestId("discard").count(), 1);
    // Edit takes the text back into the composer and drops the failed message.
    await failed.getByTestId("edit").click();
    assert.equal(await composerValue(), "refused 𝒜 text");
    await eventually(async () => (await failed.count()) === 0, { what: "the failed message gone" });
    await input().fill("");

    refuseWith = "not_a_member";
    await send(alice, "while not a member");
    await failed.waitFor();
    assert.equal(await failed.getByTestId("retry").count(), 1, "Retry where membership may change");
    assert.equal(await failed.getByTestId("edit").count(), 0);
    refuseWith = null;
    await failed.getByTestId("discard").click();
    await eventually(async () => (await failed.count()) === 0, { what: "discarded" });
    assert.deepEqual(env.pageErrors, []);
  });
});
