// Friend requests arrive live: with each page left on its Friends tab, and nothing reloaded or
// clicked on the receiving side, a request shows up with the Friends badge, an acceptance turns
// it into a friend, and a withdrawal, a decline and a block take it away (issue #16). The web
// client no longer polls the list: what changes it is the user socket's `friend` frames. And the
// sidebar's "Add friend" and "New group" buttons, with icons that cannot be taken for each other.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertText, eventually, friendRow, handle, setup, signUp } from "./helpers.mjs";

/** Live updates land well within this; nothing but the socket could bring them this fast. */
const LIVE = 5_000;

describe("friend requests in the browser", () => {
  let env;
  let alice;
  let bob;
  const a = handle("alice");
  const b = handle("bob");

  const gone = (page, h, state) =>
    eventually(async () => (await friendRow(page, h, state).count()) === 0, {
      timeout: LIVE,
      what: `${h} no longer ${state}`,
    });

  async function request(from, toHandle) {
    await from.getByTestId("friend-handle").fill(toHandle);
    await from.getByTestId("friend-add").click();
    await assertText(from.getByTestId("friend-status"), /Request sent|now friends/);
  }

  before(async () => {
    env = await setup();
    alice = await env.newPage();
    bob = await env.newPage();
    await signUp(alice, a, "Alice");
    await signUp(bob, b, "Bob");
    await alice.getByTestId("tab-friends").click();
    await bob.getByTestId("tab-friends").click();
  });
  after(() => env?.close());

  test("Bob sees Alice's request appear, with the badge, without reloading", async () => {
    const badge = bob.getByTestId("request-count");
    assert.equal(await badge.isHidden(), true);
    await request(alice, b);
    await friendRow(bob, a, "incoming").waitFor({ timeout: LIVE });
    await assertText(badge, "1", LIVE);
    // Alice's own list shows it as sent, from the same frames.
    await friendRow(alice, b, "outgoing").waitFor({ timeout: LIVE });
  });

  test("Alice withdraws it, and it leaves Bob's list and badge", async () => {
    await friendRow(alice, b, "outgoing").getByTestId("friend-cancel").click();
    await gone(bob, a, "incoming");
    await eventually(() => bob.getByTestId("request-count").isHidden(), { timeout: LIVE, what: "no badge" });
  });

  test("Bob declines a new request, and it leaves Alice's sent requests", async () => {
    await request(alice, b);
    await friendRow(bob, a, "incoming").getByTestId("friend-decline").click({ timeout: LIVE });
    await gone(alice, b, "outgoing");
  });

  test("Bob accepts, and both lists show a friend", async () => {
    await request(alice, b);
    await friendRow(bob, a, "incoming").getByTestId("friend-accept").click({ timeout: LIVE });
    await friendRow(alice, b, "friends").waitFor({ timeout: LIVE });
    await friendRow(bob, a, "friends").waitFor({ timeout: LIVE });
    assert.equal(await bob.getByTestId("request-count").isHidden(), true);
  });

  test("Alice blocks Bob, and she leaves his friends list at once", async () => {
    await friendRow(alice, b, "friends").getByTestId("friend-block").click();
    await friendRow(alice, b, "blocked").waitFor({ timeout: LIVE });
    await gone(bob, a, "friends");
  });

  test("the sidebar's New group and Add friend look different; Add friend opens the handle field", async () => {
    const shapes = async (id) =>
      alice
        .getByTestId(id)
        .locator("svg path")
        .evaluateAll((paths) => paths.map((p) => p.getAttribute("d")));
    const group = await shapes("new-group");
    const friend = await shapes("add-friend");
    assert.ok(group.length > 0 && friend.length > 0);
    // Not one shape in common: a plus on one person is "add a friend", two people are a group.
    assert.deepEqual(
      group.filter((d) => friend.includes(d)),
      [],
    );
    assert.equal(await alice.getByTestId("new-group").getAttribute("aria-label"), "New group");
    assert.equal(await alice.getByTestId("add-friend").getAttribute("aria-label"), "Add friend");

    await alice.getByTestId("tab-chats").click();
    await alice.getByTestId("add-friend").click();
    assert.equal(await alice.getByTestId("tab-friends").getAttribute("aria-selected"), "true");
    assert.equal(await alice.evaluate(() => document.activeElement?.dataset.testid), "friend-handle");
  });

  test("no page errors", () => {
    assert.deepEqual(env.pageErrors, []);
  });
});
