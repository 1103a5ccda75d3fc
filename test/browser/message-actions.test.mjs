// What people do with a message (issue #19), in two browsers: Alice and Bob in a 1:1 chat and a
// group Alice owns. The menu of a message (its "⋯" button, a right click, or the keyboard) offers
// react, reply, edit, copy and delete, only what the user may do; Up in an empty composer edits
// my last message and Esc cancels, giving back what was being typed; an edit shows "edited" to
// both and raises no unread badge; reactions show counts and who reacted, and toggle; a reply
// quotes its message's sender and start, and the quote says "Deleted message" once it is; a
// deleted message leaves a tombstone in its place; a group owner deletes anyone's message.
// Everything still shows so after a reload (the SDK keeps entries, and sync brings them back).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  api,
  apiSignUp,
  assertText,
  convItem,
  eventually,
  friendsWithDm,
  handle,
  logIn,
  openFromList,
  send,
  sentMessage,
  setup,
  waitConnected,
} from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe("the message menu: edit, delete, reply, react", () => {
  let env;
  /** Browser pages. */
  let alicePage;
  let bobPage;
  /** API sessions. */
  let alice;
  let bob;
  let dm;
  const a = handle("alice");
  const b = handle("bob");
  const GROUP = "Book club";
  /** Seqs of the messages the tests act on, by text. */
  const seqs = new Map();

  /** A message on screen by its seq, whatever it shows now (edited, deleted). */
  const bySeq = (page, seq) => page.locator(`[data-testid="message"][data-seq="${seq}"]`);
  /** Waits for the stored message `text` on `page`, and remembers its seq. */
  async function seqOf(page, text) {
    const m = sentMessage(page, text);
    await m.waitFor();
    const seq = Number(await m.getAttribute("data-seq"));
    seqs.set(text, seq);
    return seq;
  }
  /** Opens the menu of message `seq` from its "⋯" button (shown on hover). */
  async function openMenu(page, seq) {
    const m = bySeq(page, seq);
    await m.hover();
    await m.getByTestId("message-actions").click();
    const menu = page.getByTestId("message-menu");
    await menu.waitFor();
    return menu;
  }
  /** The chips under message `seq`, as [emoji, count, pressed] in order. */
  async function chips(page, seq) {
    return bySeq(page, seq)
      .getByTestId("reaction")
      .evaluateAll((els) =>
        els.map((el) => [
          el.dataset.emoji,
          Number(el.dataset.count),
          el.getAttribute("aria-pressed") === "true",
        ]),
      );
  }
  async function expectChips(page, seq, want) {
    try {
      await eventually(async () => JSON.stringify(await chips(page, seq)) === JSON.stringify(want), {
        what: `reactions ${JSON.stringify(want)}`,
      });
    } catch (err) {
      assert.deepEqual(await chips(page, seq), want, err.message);
    }
  }
  const composer = (page) => page.getByTestId("composer-input");
  const context = (page) => page.getByTestId("composer-context");

  before(async () => {
    env = await setup();
    alice = await apiSignUp(env.url, a, "Alice");
    bob = await apiSignUp(env.url, b, "Bob");
    dm = await friendsWithDm(env.url, alice, bob);
    const group = await api(env.url, "POST", "/groups", alice.access_token, {
      name: GROUP,
      member_ids: [bob.user_id],
    });
    await api(env.url, "POST", `/channels/${group.channel_id}/messages`, alice.access_token, {
      client_msg_id: "g-1",
      text: "Chapter 3 by Friday",
    });
    await api(env.url, "POST", `/channels/${dm}/messages`, alice.access_token, {
      client_msg_id: "d-1",
      text: "hi Bob",
    });
    await api(env.url, "POST", `/channels/${dm}/read`, bob.access_token, { seq: 1 });
    alicePage = await env.newPage();
    bobPage = await env.newPage();
    await logIn(alicePage, a);
    await logIn(bobPage, b);
    // Bob reads the group: the 1:1 chat is not on his screen while Alice writes in it.
    await openFromList(bobPage, GROUP);
    await openFromList(alicePage, "Bob");
  });
  after(() => env?.close());

  test("Up edits my last message, Esc cancels and gives back the draft; an edit shows 'edited' and raises no badge", async () => {
    await send(alicePage, "first thing");
    await send(alicePage, "see you tomorow");
    const first = await seqOf(alicePage, "first thing");
    const last = await seqOf(alicePage, "see you tomorow");
    const badge = convItem(bobPage, "Alice").getByTestId("unread-badge");
    await assertText(badge, "2");

    // Up in the empty composer: my last message is in it, marked, the button saves.
    await composer(alicePage).focus();
    await alicePage.keyboard.press("ArrowUp");
    await context(alicePage).waitFor();
    await assertText(alicePage.getByTestId("composer-context-title"), "Editing your message");
    assert.equal(await composer(alicePage).inputValue(), "see you tomorow");
    assert.match(await bySeq(alicePage, last).getAttribute("class"), /\bediting\b/);
    assert.equal(await alicePage.getByTestId("composer-send").textContent(), "Save");
    // Esc: nothing changed, the composer is empty again.
    await alicePage.keyboard.press("Escape");
    await context(alicePage).waitFor({ state: "hidden" });
    assert.equal(await composer(alicePage).inputValue(), "");
    assert.doesNotMatch(await bySeq(alicePage, last).getAttribute("class"), /\bediting\b/);

    // With a draft, Up moves the caret as usual; an edit from the menu keeps the draft aside.
    await composer(alicePage).fill("a draft in progress");
    await alicePage.keyboard.press("ArrowUp");
    assert.equal(await context(alicePage).isHidden(), true);
    const menu = await openMenu(alicePage, first);
    await menu.getByTestId("menu-edit").click();
    await context(alicePage).waitFor();
    assert.equal(await composer(alicePage).inputValue(), "first thing");
    await alicePage.keyboard.press("Escape");
    await context(alicePage).waitFor({ state: "hidden" });
    assert.equal(await composer(alicePage).inputValue(), "a draft in progress");
    assert.equal(await sentMessage(alicePage, "first thing").count(), 1, "unchanged");

    // The edit itself: Up, fix the typo, Enter.
    await composer(alicePage).fill("");
    await alicePage.keyboard.press("ArrowUp");
    await composer(alicePage).fill("see you tomorrow");
    await alicePage.keyboard.press("Enter");
    await context(alicePage).waitFor({ state: "hidden" });
    const edited = sentMessage(alicePage, "see you tomorrow");
    await edited.getByTestId("edited").waitFor();
    assert.equal(await edited.getAttribute("data-seq"), String(last), "edited in place");
    await eventually(async () => (await edited.getByTestId("edited").getAttribute("data-pending")) === null, {
      what: "the edit stored",
    });
    assert.equal(await composer(alicePage).inputValue(), "");

    // Bob, in the group meanwhile: still 2 unread (an edit is not a message)…
    await sleep(1_000);
    assert.equal(await badge.textContent(), "2");
    // …and opening the chat, the new text, marked edited, in its place under the divider.
    await openFromList(bobPage, "Alice");
    const seen = sentMessage(bobPage, "see you tomorrow");
    await seen.getByTestId("edited").waitFor();
    assert.equal(await seen.getAttribute("data-seq"), String(last));
    assert.equal(await sentMessage(bobPage, "see you tomorow").count(), 0);
    assert.equal(
      await sentMessage(bobPage, "first thing").evaluate((el) => el.previousElementSibling?.dataset.testid),
      "unread-divider",
    );
  });

  test("reactions: counts and who reacted, mine toggles, one per person; by mouse and keyboard", async () => {
    const seq = seqs.get("see you tomorow");
    // Bob reacts from the menu.
    let menu = await openMenu(bobPage, seq);
    await menu.locator('[data-testid="menu-react"][data-emoji="👍"]').click();
    await menu.waitFor({ state: "detached" });
    await expectChips(bobPage, seq, [["👍", 1, true]]);
    await expectChips(alicePage, seq, [["👍", 1, false]]);
    const thumbs = (page) => bySeq(page, seq).locator('[data-testid="reaction"][data-emoji="👍"]');
    assert.equal(await thumbs(alicePage).getAttribute("title"), "Bob reacted with 👍");

    // Alice adds hers with the chip: two, and who.
    await thumbs(alicePage).click();
    await expectChips(alicePage, seq, [["👍", 2, true]]);
    await expectChips(bobPage, seq, [["👍", 2, true]]);
    assert.equal(await thumbs(alicePage).getAttribute("title"), "You and Bob reacted with 👍");
    assert.equal(await thumbs(bobPage).getAttribute("title"), "You and Alice reacted with 👍");

    // Bob's menu shows his reaction checked, and who reacted with what.
    menu = await openMenu(bobPage, seq);
    assert.equal(
      await menu.locator('[data-testid="menu-react"][data-emoji="👍"]').getAttribute("aria-checked"),
      "true",
    );
    await assertText(menu.getByTestId("menu-reacted"), "👍You and Alice");
    // One reaction per person: a new one (from "more") replaces his.
    await menu.getByTestId("menu-more-reactions").click();
    await menu.locator('[data-testid="menu-react"][data-emoji="🎉"]').click();
    await expectChips(bobPage, seq, [
      ["👍", 1, false],
      ["🎉", 1, true],
    ]);
    await expectChips(alicePage, seq, [
      ["👍", 1, true],
      ["🎉", 1, false],
    ]);

    // Alice takes hers back with the chip: the chip goes.
    await thumbs(alicePage).click();
    await expectChips(alicePage, seq, [["🎉", 1, false]]);
    await expectChips(bobPage, seq, [["🎉", 1, true]]);

    // The keyboard: Enter on the "⋯" button opens the menu on its first item; arrows move;
    // Esc closes it and gives the focus back; Enter on an item acts.
    const button = bySeq(bobPage, seq).getByTestId("message-actions");
    await button.focus();
    await bobPage.keyboard.press("Enter");
    await bobPage.getByTestId("message-menu").waitFor();
    const focused = () =>
      bobPage.evaluate(() => document.activeElement?.dataset.emoji ?? document.activeElement?.dataset.testid);
    assert.equal(await focused(), "👍");
    await bobPage.keyboard.press("ArrowRight");
    assert.equal(await focused(), "❤️");
    await bobPage.keyboard.press("Escape");
    await bobPage.getByTestId("message-menu").waitFor({ state: "detached" });
    assert.equal(await focused(), "message-actions");
    await bobPage.keyboard.press("Enter");
    await bobPage.keyboard.press("ArrowRight");
    await bobPage.keyboard.press("Enter");
    await expectChips(alicePage, seq, [["❤️", 1, false]]);
    await expectChips(bobPage, seq, [["❤️", 1, true]]);
  });

  test("replies quote their message; a delete leaves a tombstone, and the quote says so", async () => {
    const first = seqs.get("first thing");
    // Only what Bob may do with Alice's message: no edit, no delete.
    let menu = await openMenu(bobPage, first);
    assert.equal(await menu.getByTestId("menu-edit").count(), 0);
    assert.equal(await menu.getByTestId("menu-delete").count(), 0);
    await menu.getByTestId("menu-reply").click();
    await assertText(bobPage.getByTestId("composer-context-title"), "Replying to Alice");
    await assertText(bobPage.getByTestId("composer-context-text"), "first thing");
    assert.match(await bySeq(bobPage, first).getAttribute("class"), /\breplying\b/);
    // Esc leaves the reply; a reply again, and send.
    await bobPage.keyboard.press("Escape");
    await context(bobPage).waitFor({ state: "hidden" });
    // A right click on the message opens the same menu, where the pointer is.
    await bySeq(bobPage, first).getByTestId("message-text").click({ button: "right" });
    menu = bobPage.getByTestId("message-menu");
    await menu.getByTestId("menu-reply").click();
    await composer(bobPage).fill("which first thing?");
    await bobPage.keyboard.press("Enter");
    await context(bobPage).waitFor({ state: "hidden" });

    const reply = await seqOf(bobPage, "which first thing?");
    for (const [page, sender] of [
      [bobPage, "Alice"],
      [alicePage, "You"],
    ]) {
      const quote = bySeq(page, reply).getByTestId("reply-quote");
      await assertText(quote.getByTestId("reply-quote-sender"), sender);
      await assertText(quote.getByTestId("reply-quote-text"), "first thing");
    }
    // The quote shows its message.
    await bySeq(alicePage, reply).getByTestId("reply-quote").click();
    await alicePage.locator(`[data-testid="message"][data-seq="${first}"].flash`).waitFor();

    // Alice deletes "first thing", after confirming.
    menu = await openMenu(alicePage, first);
    await menu.getByTestId("menu-delete").click();
    const dialog = alicePage.getByTestId("confirm-dialog");
    await dialog.waitFor();
    await dialog.getByTestId("confirm-ok").click();
    await assertText(bySeq(alicePage, first).getByTestId("message-deleted"), "You deleted this message");
    await assertText(bySeq(bobPage, first).getByTestId("message-deleted"), "This message was deleted");
    for (const page of [alicePage, bobPage]) {
      const tomb = bySeq(page, first);
      assert.equal(await tomb.getByTestId("message-text").count(), 0, "no text left");
      assert.equal(await tomb.getByTestId("message-actions").count(), 0, "nothing to do with it");
      const quote = bySeq(page, reply).getByTestId("reply-quote");
      await assertText(quote.getByTestId("reply-quote-text"), "Deleted message");
      assert.equal(await quote.getAttribute("data-deleted"), "");
    }
    // The tombstone is in the deleted message's place, in order with the others.
    const order = await bobPage
      .locator('[data-testid="message"][data-seq]')
      .evaluateAll((els) => els.map((el) => Number(el.dataset.seq)));
    assert.ok(order.includes(first));
    assert.deepEqual(
      order,
      [...order].sort((x, y) => x - y),
    );
  });

  test("a group owner deletes anyone's message, even one being edited; members only their own", async () => {
    await openFromList(alicePage, GROUP);
    await openFromList(bobPage, GROUP);
    await send(bobPage, "oops, wrong chat");
    const bobs = await seqOf(alicePage, "oops, wrong chat");
    const alices = await seqOf(bobPage, "Chapter 3 by Friday");
    // Bob: nothing but reply and react on Alice's.
    let menu = await openMenu(bobPage, alices);
    assert.equal(await menu.getByTestId("menu-edit").count(), 0);
    assert.equal(await menu.getByTestId("menu-delete").count(), 0);
    await bobPage.keyboard.press("Escape");
    // Bob starts fixing his message while Alice, the owner, deletes it: delete, not edit, on his.
    await composer(bobPage).fill("");
    await bobPage.keyboard.press("ArrowUp");
    assert.equal(await composer(bobPage).inputValue(), "oops, wrong chat");
    await composer(bobPage).fill("oops, wrong chat, sorry");
    menu = await openMenu(alicePage, bobs);
    assert.equal(await menu.getByTestId("menu-edit").count(), 0);
    await menu.getByTestId("menu-delete").click();
    const dialog = alicePage.getByTestId("confirm-dialog");
    await assertText(dialog, "as the group's owner");
    await dialog.getByTestId("confirm-ok").click();
    await assertText(bySeq(bobPage, bobs).getByTestId("message-deleted"), "Deleted by Alice");
    await assertText(bySeq(alicePage, bobs).getByTestId("message-deleted"), "You deleted this message");
    // Bob's edit ends, with a word why; his composer is as it was before he pressed Up.
    await context(bobPage).waitFor({ state: "hidden" });
    await assertText(bobPage.getByTestId("toast"), "The message you were editing was deleted.");
    assert.equal(await composer(bobPage).inputValue(), "");
    assert.equal(await bySeq(bobPage, bobs).getByTestId("message-actions").count(), 0);
  });

  test("after a reload: edits, reactions, replies and tombstones as they were", async () => {
    await bobPage.reload();
    // The group reopens from the URL first. (The list is rebuilt on every change while the app
    // starts, and a click whose press and release land on two builds of it is lost: wait.)
    await waitConnected(bobPage);
    await bobPage.locator('[data-testid="conversation"][data-settled]').waitFor();
    await openFromList(bobPage, "Alice");
    const edited = sentMessage(bobPage, "see you tomorrow");
    await edited.getByTestId("edited").waitFor();
    await expectChips(bobPage, seqs.get("see you tomorow"), [["❤️", 1, true]]);
    await assertText(
      bySeq(bobPage, seqs.get("first thing")).getByTestId("message-deleted"),
      "This message was deleted",
    );
    await assertText(
      bySeq(bobPage, seqs.get("which first thing?")).getByTestId("reply-quote-text"),
      "Deleted message",
    );
  });

  test("no page errors", () => {
    assert.deepEqual(env.pageErrors, []);
  });
});
