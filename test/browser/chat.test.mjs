// Two people in two browsers: sign up, become friends, chat both ways with ticks, typing,
// unread badges and presence; a second device of one of them follows the same conversation
// live; a reload keeps the session; blocking stops the chat; logging out forgets the session.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  assertText,
  befriend,
  convItem,
  eventually,
  expectTexts,
  friendRow,
  handle,
  logIn,
  messageTexts,
  openChatWith,
  openFromList,
  PHONE,
  send,
  sentMessage,
  setup,
  signUp,
  waitConnected,
} from "./helpers.mjs";

describe("two users chatting in the browser", () => {
  let env;
  let alice;
  let bob;
  const a = handle("alice");
  const b = handle("bob");

  before(async () => {
    env = await setup();
    alice = await env.newPage();
    bob = await env.newPage();
  });
  after(() => env?.close());

  test("both sign up and become friends", async () => {
    await signUp(alice, a, "Alice");
    await signUp(bob, b, "Bob");
    await befriend(alice, bob, a, b);
    // Friends share presence: Bob is online in Alice's list.
    const row = alice.locator(`[data-testid="friend-row"][data-handle="${b}"] .dot`);
    await eventually(async () => (await row.getAttribute("data-status")) === "online", {
      what: "Bob online",
    });
  });

  test("Alice starts a chat; Bob sees it with an unread badge, then replies", async () => {
    await openChatWith(alice, b);
    await assertText(alice.getByTestId("conv-title"), "Bob");
    await send(alice, "hi Bob 👋");
    await sentMessage(alice, "hi Bob 👋").waitFor();

    await bob.getByTestId("tab-chats").click();
    const item = convItem(bob, "Alice");
    await assertText(item.getByTestId("unread-badge"), "1");
    await assertText(item.getByTestId("conv-preview"), "hi Bob 👋");
    await item.click();
    await sentMessage(bob, "hi Bob 👋").waitFor();
    // Reading clears the badge.
    await eventually(async () => !(await item.getByTestId("unread-badge").isVisible()), {
      what: "badge cleared",
    });

    // Alice's tick turns into a blue double tick once Bob has read it.
    const ticks = sentMessage(alice, "hi Bob 👋").getByTestId("ticks");
    await eventually(async () => (await ticks.getAttribute("data-state")) === "read", { what: "read tick" });
    assert.equal(await ticks.textContent(), "✓✓");

    // Typing shows on the other side.
    await bob.getByTestId("composer-input").pressSequentially("hey Al", { delay: 20 });
    await assertText(alice.getByTestId("typing-indicator"), "Bob is typing…");
    await bob.getByTestId("composer-input").fill("hey Alice! see https://example.com/a?b=1 <b>not bold</b>");
    await bob.getByTestId("composer-send").click();
    const reply = "hey Alice! see https://example.com/a?b=1 <b>not bold</b>";
    await sentMessage(alice, reply).waitFor();
    await sentMessage(bob, reply).waitFor();
    // The indicator ends with the message.
    await assertText(alice.getByTestId("typing-indicator"), /^$/);

    // Untrusted text: no markup injected; only the http(s) URL became a safe link.
    const bubble = sentMessage(alice, reply).getByTestId("message-text");
    assert.equal(await bubble.locator("b").count(), 0);
    const link = bubble.locator("a");
    assert.equal(await link.count(), 1);
    assert.equal(await link.getAttribute("href"), "https://example.com/a?b=1");
    assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
    assert.equal(await link.getAttribute("target"), "_blank");

    assert.deepEqual(await messageTexts(alice), ["hi Bob 👋", reply]);
    assert.deepEqual(await messageTexts(bob), ["hi Bob 👋", reply]);
  });

  test("a second device of Bob shows the conversation and its live messages", async () => {
    const bob2 = await env.newPage({ viewport: PHONE });
    try {
      await logIn(bob2, b);
      await openFromList(bob2, "Alice");
      await sentMessage(bob2, "hi Bob 👋").waitFor();
      await send(alice, "are you on your phone?");
      await sentMessage(bob2, "are you on your phone?").waitFor();
      await sentMessage(bob, "are you on your phone?").waitFor();
      await send(bob2, "yes, from the phone");
      await sentMessage(alice, "yes, from the phone").waitFor();
      await sentMessage(bob, "yes, from the phone").waitFor();
      const want = [
        "hi Bob 👋",
        "hey Alice! see https://example.com/a?b=1 <b>not bold</b>",
        "are you on your phone?",
        "yes, from the phone",
      ];
      for (const page of [alice, bob, bob2]) await expectTexts(page, want);
    } finally {
      await bob2.context().close();
    }
  });

  test("a reload keeps the session and the open conversation", async () => {
    await alice.reload();
    await alice.getByTestId("app").waitFor();
    await waitConnected(alice);
    await assertText(alice.getByTestId("conv-title"), "Bob");
    await sentMessage(alice, "yes, from the phone").waitFor();
    // The session is in IndexedDB, never in the URL or in localStorage.
    const url = alice.url();
    assert.ok(!/token|ticket/i.test(url), url);
    assert.equal(await alice.evaluate(() => localStorage.length), 0);
    await send(alice, "still here after a reload");
    await sentMessage(bob, "still here after a reload").waitFor();
  });

  test("blocking stops the conversation", async () => {
    await alice.getByTestId("tab-friends").click();
    await friendRow(alice, b, "friends").getByTestId("friend-block").click();
    await friendRow(alice, b, "blocked").waitFor();
    await send(bob, "can you hear me?");
    await assertText(bob.getByTestId("toast"), /blocked/i);
    // Refused, so it stays a local echo; Alice never gets it.
    const echo = bob.locator('[data-testid="message"][data-status="pending"]', {
      hasText: "can you hear me?",
    });
    await echo.waitFor();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await alice.getByText("can you hear me?").count(), 0);
    await friendRow(alice, b, "blocked").getByTestId("friend-unblock").click();
    await eventually(async () => (await friendRow(alice, b, "blocked").count()) === 0, { what: "unblocked" });
  });

  test("logging out forgets the session on this device", async () => {
    await bob.getByTestId("tab-settings").click();
    await bob.getByTestId("logout").click();
    await bob.getByTestId("auth").waitFor();
    await bob.reload();
    await bob.getByTestId("auth").waitFor();
    assert.equal(await bob.getByTestId("app").count(), 0);
  });

  test("no page errors", () => {
    assert.deepEqual(env.pageErrors, []);
  });
});
