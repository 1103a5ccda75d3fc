// A group of three: Alice creates it with Bob, adds Carol, and all three chat; each sees every
// message once, in the same order, with the sender's name; "read by N" ticks on Alice's side.
// Then a short 1:1 chat, and screenshots at desktop and phone width: into .ci/screenshots/ on
// every run, into docs/screenshots/ (the README's) with `npm run screenshots`.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ROOT } from "../../scripts/boot-worker.mjs";
import {
  assertText,
  befriend,
  convItem,
  eventually,
  friendRow,
  handle,
  messageTexts,
  openChatWith,
  openFromList,
  PHONE,
  send,
  sentMessage,
  setup,
  signUp,
} from "./helpers.mjs";

describe("a group of three", () => {
  let env;
  let alice;
  let bob;
  let carol;
  const a = handle("alice");
  const b = handle("bob");
  const c = handle("carol");
  const GROUP = "Weekend hike";

  before(async () => {
    env = await setup();
    alice = await env.newPage();
    bob = await env.newPage();
    carol = await env.newPage({ viewport: PHONE });
    await signUp(alice, a, "Alice Martin");
    await signUp(bob, b, "Bob Chen");
    await signUp(carol, c, "Carol");
    await befriend(alice, bob, a, b);
    await befriend(alice, carol, a, c);
  });
  after(() => env?.close());

  test("Alice creates the group with Bob, then adds Carol", async () => {
    await alice.getByTestId("new-group").click();
    const dialog = alice.getByTestId("group-dialog");
    await dialog.getByTestId("group-name").fill(GROUP);
    await dialog.locator(`[data-testid="group-member"][data-handle="${b}"]`).check();
    await dialog.getByTestId("group-submit").click();
    await assertText(alice.getByTestId("conv-title"), GROUP);
    await assertText(alice.getByTestId("conv-subtitle"), "2 members");
    await send(alice, "Before Carol joins");
    await sentMessage(alice, "Before Carol joins").waitFor();

    await alice.getByTestId("add-members").click();
    const add = alice.getByTestId("group-dialog");
    const carolBox = add.locator(`[data-testid="group-member"][data-handle="${c}"]`);
    await carolBox.waitFor();
    // Bob is a member already: only Carol is offered.
    assert.equal(await add.getByTestId("group-member").count(), 1);
    await carolBox.check();
    await add.getByTestId("group-submit").click();
    await assertText(alice.getByTestId("conv-subtitle"), "3 members");
  });

  test("all three chat; everyone sees the same messages once, in order", async () => {
    await openFromList(bob, GROUP);
    await sentMessage(bob, "Before Carol joins").waitFor();
    await openFromList(carol, GROUP);

    await send(alice, "Saturday, 8am at the trailhead?");
    await sentMessage(bob, "Saturday, 8am at the trailhead?").waitFor();
    await sentMessage(carol, "Saturday, 8am at the trailhead?").waitFor();
    await send(bob, "Works for me. I'll bring the map.");
    await sentMessage(carol, "Works for me. I'll bring the map.").waitFor();
    await send(carol, "Count me in!");
    await sentMessage(alice, "Count me in!").waitFor();
    await sentMessage(bob, "Count me in!").waitFor();

    const after = ["Saturday, 8am at the trailhead?", "Works for me. I'll bring the map.", "Count me in!"];
    for (const page of [alice, bob]) {
      await eventually(
        async () =>
          JSON.stringify(await messageTexts(page)) === JSON.stringify(["Before Carol joins", ...after]),
        { what: "four group messages" },
      );
    }
    // Carol joined later: she sees only what was sent after.
    await eventually(async () => JSON.stringify(await messageTexts(carol)) === JSON.stringify(after), {
      what: "Carol's three messages",
    });

    // Others' messages carry the sender's name.
    await assertText(sentMessage(alice, "Count me in!").getByTestId("message-sender"), "Carol");
    await assertText(
      sentMessage(carol, "Works for me. I'll bring the map.").getByTestId("message-sender"),
      "Bob Chen",
    );
    // Group ticks: both others have read Alice's message (they replied after it).
    await assertText(sentMessage(alice, "Saturday, 8am at the trailhead?").getByTestId("ticks"), "read by 2");
  });

  test("screenshots: desktop and phone width, people chatting", async () => {
    const dir = path.join(ROOT, process.env.EDGE_CHAT_SCREENSHOTS === "docs" ? "docs" : ".ci", "screenshots");
    mkdirSync(dir, { recursive: true });
    // A 1:1 chat, Bob and Alice.
    await openChatWith(bob, a);
    await send(bob, "Do you still have my camping stove?");
    await send(bob, "Thinking of https://example.com/trails/ridge-loop for Saturday");
    await openFromList(alice, "Bob Chen");
    await sentMessage(alice, "Thinking of https://example.com/trails/ridge-loop for Saturday").waitFor();
    // Alice answers the stove question with a reply (a quote), and Bob reacts to the answer.
    const stove = sentMessage(alice, "Do you still have my camping stove?");
    await stove.hover();
    await stove.getByTestId("message-actions").click();
    await alice.getByTestId("menu-reply").click();
    await send(alice, "Yes! I'll bring it along. The ridge loop looks great.");
    const answer = sentMessage(bob, "Yes! I'll bring it along. The ridge loop looks great.");
    await answer.waitFor();
    await assertText(answer.getByTestId("reply-quote-sender"), "You");
    await answer.hover();
    await answer.getByTestId("message-actions").click();
    await bob.locator('[data-testid="menu-react"][data-emoji="👍"]').click();
    await sentMessage(alice, "Yes! I'll bring it along. The ridge loop looks great.")
      .locator('[data-testid="reaction"][data-emoji="👍"]')
      .waitFor();
    // Carol writes to Alice meanwhile: an unread badge in Alice's list, while she reads Bob.
    await carol.getByTestId("back").click();
    await openChatWith(carol, a);
    await send(carol, "Can I borrow your poles?");
    const carolItem = convItem(alice, "Carol");
    await assertText(carolItem.getByTestId("unread-badge"), "1");
    await bob.getByTestId("composer-input").pressSequentially("On my way", { delay: 30 });
    await assertText(alice.getByTestId("typing-indicator"), "Bob Chen is typing…");
    await alice.getByTestId("tab-chats").click();
    await alice.getByTestId("toast").waitFor({ state: "hidden" }); // "Added Carol." fades after 5 s
    await alice.screenshot({ path: path.join(dir, "desktop.png") });

    const phone = await env.newPage({ viewport: PHONE });
    try {
      await phone.goto("/");
      await phone.getByTestId("auth-handle").fill(b);
      await phone.getByTestId("auth-password").fill("correct horse battery");
      await phone.getByTestId("auth-submit").click();
      await openFromList(phone, "Alice Martin");
      await sentMessage(phone, "Yes! I'll bring it along. The ridge loop looks great.").waitFor();
      await eventually(
        async () =>
          (await sentMessage(phone, "Thinking of https://example.com/trails/ridge-loop for Saturday")
            .getByTestId("ticks")
            .getAttribute("data-state")) === "read",
        { what: "read ticks on the phone" },
      );
      await phone.screenshot({ path: path.join(dir, "phone-conversation.png") });
      await phone.getByTestId("back").click();
      await phone.getByTestId("conv-list").waitFor();
      assert.equal(await phone.getByTestId("conversation").count(), 0, "one pane at a time on a phone");
      await phone.screenshot({ path: path.join(dir, "phone-list.png") });
    } finally {
      await phone.context().close();
    }
  });

  test("Alice blocks Bob: his group messages reach her folded, and she can show one", async () => {
    await alice.getByTestId("tab-friends").click();
    await friendRow(alice, b, "friends").getByTestId("friend-block").click();
    await friendRow(alice, b, "blocked").waitFor();
    await openFromList(alice, GROUP);
    await openFromList(bob, GROUP);
    await carol.getByTestId("back").click(); // a phone: one pane at a time
    await openFromList(carol, GROUP);
    await send(bob, "Did everyone get the map?");
    // The group is shared: Carol sees it as usual, Alice folded, without its text.
    await sentMessage(carol, "Did everyone get the map?").waitFor();
    const folded = alice.locator('[data-testid="message"][data-blocked]');
    await assertText(folded.last(), "Message from a blocked user");
    assert.equal(await sentMessage(alice, "Did everyone get the map?").count(), 0);
    await folded.last().getByTestId("show-blocked").click();
    await sentMessage(alice, "Did everyone get the map?").waitFor();
  });

  test("no page errors", () => {
    assert.deepEqual(env.pageErrors, []);
  });
});
