// A device whose connections die: Bob's browser talks to the Worker through a TCP proxy
// (test/fixtures/tcp-proxy.mjs) that cuts every connection at once, with no close frame, as a
// lost network does. While he is cut off, his REST calls (socket tickets included) fail too, so
// he stays down until the test lets him back. The banner shows the reconnecting state, then
// goes; every message he missed is rendered exactly once, in order; what he wrote meanwhile
// goes out once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startProxy } from "../fixtures/tcp-proxy.mjs";
import {
  assertText,
  befriend,
  convItem,
  eventually,
  handle,
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

describe("reconnecting after the connection drops", () => {
  let env;
  let proxy;
  let alice;
  let bob;
  const a = handle("alice");
  const b = handle("bob");

  /** Cuts Bob's connections and keeps him out (REST and socket tickets fail) until `restore()`. */
  async function cutBob() {
    await bob.route("**/v1/**", (route) => route.abort("internetdisconnected"));
    proxy.dropAll();
    const banner = bob.locator('[data-testid="conn-banner"][data-state="reconnecting"]');
    await banner.waitFor({ state: "visible" });
    await assertText(banner, "Reconnecting");
    return {
      restore: async () => {
        await bob.unroute("**/v1/**");
        await bob.getByTestId("conn-banner").waitFor({ state: "hidden", timeout: 30_000 });
        await waitConnected(bob);
      },
    };
  }

  /** Each text appears exactly once, and the texts on screen are `want`, in order. */
  async function expectExactly(page, want) {
    await eventually(async () => JSON.stringify(await messageTexts(page)) === JSON.stringify(want), {
      what: `messages ${JSON.stringify(want)}`,
      timeout: 20_000,
    });
    // Still so a moment later: no late duplicate from the other socket.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.deepEqual(await messageTexts(page), want);
  }

  before(async () => {
    env = await setup();
    proxy = await startProxy(env.url);
    alice = await env.newPage();
    bob = await env.newPage({ viewport: PHONE, baseURL: proxy.url });
    await signUp(alice, a, "Alice");
    await signUp(bob, b, "Bob");
    await befriend(alice, bob, a, b);
  });
  after(async () => {
    await proxy?.close();
    await env?.close();
  });

  test("viewing the conversation: the banner comes and goes, missed messages arrive once, in order", async () => {
    await openChatWith(alice, b);
    await send(alice, "before the drop");
    await openFromList(bob, "Alice");
    await sentMessage(bob, "before the drop").waitFor();

    const cut = await cutBob();
    for (let i = 1; i <= 5; i++) {
      await send(alice, `missed ${i}`);
      await sentMessage(alice, `missed ${i}`).waitFor();
    }
    // Bob writes while cut off: a local echo, pending.
    await send(bob, "written while offline");
    await bob
      .locator('[data-testid="message"][data-status="pending"]', { hasText: "written while offline" })
      .waitFor();
    await cut.restore();

    const missed = [1, 2, 3, 4, 5].map((i) => `missed ${i}`);
    await expectExactly(bob, ["before the drop", ...missed, "written while offline"]);
    await sentMessage(bob, "written while offline").waitFor();
    await expectExactly(alice, ["before the drop", ...missed, "written while offline"]);
  });

  test("on the conversation list: the user socket resumes; badge and preview catch up", async () => {
    await bob.getByTestId("back").click(); // phone width: back to the list, the channel socket closes
    await bob.getByTestId("conv-list").waitFor();
    const cut = await cutBob();
    await send(alice, "while you were away 1");
    await send(alice, "while you were away 2");
    await sentMessage(alice, "while you were away 2").waitFor();
    await cut.restore();

    const item = convItem(bob, "Alice");
    await assertText(item.getByTestId("unread-badge"), "2");
    await assertText(item.getByTestId("conv-preview"), "while you were away 2");
    await item.click();
    await expectExactly(bob, [
      "before the drop",
      ...[1, 2, 3, 4, 5].map((i) => `missed ${i}`),
      "written while offline",
      "while you were away 1",
      "while you were away 2",
    ]);
  });

  test("no page errors", () => {
    assert.deepEqual(env.pageErrors, []);
  });
});
