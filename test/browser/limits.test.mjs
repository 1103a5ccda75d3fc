// The web client at the server's limits (docs/protocol.md §9.6, §8.1), on a Worker with small
// ones: a login past the cap on devices offers the account's devices and signs one out in its
// place; messages sent faster than the limit show "slow down" and all arrive, once, in order.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  assertText,
  befriend,
  expectTexts,
  handle,
  logIn,
  openChatWith,
  PASSWORD,
  send,
  setup,
  signUp,
} from "./helpers.mjs";

describe("the web client at the limits", () => {
  let env;
  let alice;
  let bob;
  const a = handle("alice");
  const b = handle("bob");

  before(async () => {
    env = await setup({ vars: { LIMIT_DEVICES_PER_USER: "2", LIMIT_SENDS_PER_DEVICE: "2/4s" } });
    alice = await env.newPage();
    bob = await env.newPage();
  });
  after(() => env?.close());

  test("a login past the cap on devices lists them, and signing one out lets this one in", async () => {
    const c = handle("carol");
    const first = await env.newPage();
    await signUp(first, c, "Carol");
    const second = await env.newPage();
    await logIn(second, c); // the second device: the cap
    const third = await env.newPage();
    await third.goto("/");
    await third.getByTestId("auth-handle").fill(c);
    await third.getByTestId("auth-password").fill(PASSWORD);
    await third.getByTestId("auth-submit").click();
    await third.getByTestId("device-choice").waitFor();
    assert.equal(await third.getByTestId("device-option").count(), 2);
    await third.getByTestId("sign-out-device").first().click();
    await third.getByTestId("app").waitFor();
    // One of the two earlier devices was signed out: it is back at the login form.
    const back = () =>
      Promise.race([first.getByTestId("auth").waitFor(), second.getByTestId("auth").waitFor()]);
    await back();
    for (const p of [first, second, third]) await p.close();
  });

  test("messages sent too fast say 'slow down' and still arrive, once each, in order", async () => {
    await signUp(alice, a, "Alice");
    await signUp(bob, b, "Bob");
    await befriend(alice, bob, a, b);
    await openChatWith(alice, b);
    const texts = ["one", "two", "three", "four"];
    for (const text of texts) await send(alice, text);
    await assertText(alice.getByTestId("toast"), /Slow down/);
    await openChatWith(bob, a);
    await expectTexts(bob, texts, 30_000);
    await expectTexts(alice, texts, 30_000);
  });
});
