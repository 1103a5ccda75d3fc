// Scrolling back through a long history (older pages load at the top, the view stays put);
// untrusted message text rendered safely; and Web Push: the settings switch subscribes with the
// server's VAPID key and hands the subscription to the server (headless Chromium has no push
// service, so the browser's subscribe is also stubbed once to see the whole path), and the
// service worker turns a push payload into a notification.
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
  messageTexts,
  openFromList,
  sendMany,
  sentMessage,
  setup,
} from "./helpers.mjs";

describe("history, safety and push", () => {
  let env;
  let page;
  let alice;
  let dm;
  const a = handle("alice");
  const b = handle("bob");
  const COUNT = 130;

  before(async () => {
    env = await setup();
    alice = await apiSignUp(env.url, a, "Alice");
    const bob = await apiSignUp(env.url, b, "Bob");
    dm = await friendsWithDm(env.url, alice, bob);
    await sendMany(
      env.url,
      alice.access_token,
      dm,
      Array.from({ length: COUNT }, (_, i) => `m ${i + 1}`),
    );
    // Bob has read them all (on another device): the conversation opens at its newest message.
    // (One with unread messages opens at the first of them: test/browser/reading.test.mjs.)
    await api(env.url, "POST", `/channels/${dm}/read`, bob.access_token, { seq: COUNT });
    page = await env.newPage();
    await logIn(page, b);
  });
  after(() => env?.close());

  test("scrolling to the top loads older messages and keeps the view in place", async () => {
    await assertText(convItem(page, "Alice").getByTestId("conv-preview"), `m ${COUNT}`);
    await openFromList(page, "Alice");
    await sentMessage(page, `m ${COUNT}`).waitFor();
    const list = page.getByTestId("message-list");
    const loaded = async () => (await messageTexts(page)).length;
    const first = await loaded();
    assert.ok(first < COUNT, `only the newest pages at first (${first})`);
    // At the bottom: the newest message is in view.
    assert.ok(await list.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 5));

    // Scroll to the top: one more page arrives above, and the message that was at the top stays
    // where it was on screen instead of jumping away.
    const topText = (await messageTexts(page))[0];
    await list.evaluate((el) => {
      el.scrollTop = 0;
    });
    const topBefore = await sentMessage(page, topText).evaluate((el) => el.getBoundingClientRect().top);
    await eventually(async () => (await loaded()) > first, { what: "an older page" });
    const topAfter = await sentMessage(page, topText).evaluate((el) => el.getBoundingClientRect().top);
    assert.ok(Math.abs(topAfter - topBefore) < 40, `kept in place: ${topBefore} → ${topAfter}`);
    assert.ok(await list.evaluate((el) => el.scrollTop > 0), "not left at the very top");

    // Keep scrolling back to the beginning.
    await eventually(
      async () => {
        await list.evaluate((el) => {
          el.scrollTop = 0;
        });
        return (await page.getByTestId("history-status").getAttribute("data-state")) === "start";
      },
      { what: "the beginning of the conversation", timeout: 20_000 },
    );
    assert.deepEqual(
      await messageTexts(page),
      Array.from({ length: COUNT }, (_, i) => `m ${i + 1}`),
    );
  });

  test("message text is untrusted: no markup, only http(s) links", async () => {
    const texts = [
      `<img src=x onerror="window.__pwned=1">`,
      "<script>window.__pwned=2</script>",
      "javascript:window.__pwned=3",
      "[click](javascript:window.__pwned=4)",
      `see https://example.com/x"><img src=x onerror=window.__pwned=5> and http://example.org/a_(b).`,
      "héllo 👋🏽, ünïcödé\nsecond line",
    ];
    for (const [i, text] of texts.entries()) {
      await api(env.url, "POST", `/channels/${dm}/messages`, alice.access_token, {
        client_msg_id: `x-${i}`,
        text,
      });
    }
    await sentMessage(page, texts.at(-1)).waitFor();
    const list = page.getByTestId("message-list");
    assert.equal(await list.locator("img, script, iframe, object").count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    const hrefs = await list
      .locator("a")
      .evaluateAll((links) =>
        links.map((a) => ({ href: a.getAttribute("href"), rel: a.rel, target: a.target })),
      );
    assert.deepEqual(hrefs, [
      { href: "https://example.com/x", rel: "noopener noreferrer", target: "_blank" },
      { href: "http://example.org/a_(b)", rel: "noopener noreferrer", target: "_blank" },
    ]);
    // Shown exactly as sent.
    assert.deepEqual((await messageTexts(page)).slice(-texts.length), texts);
  });

  test("the service worker shows a push as a notification, titled with the sender's name", async () => {
    await page.context().grantPermissions(["notifications"]);
    const reg = await page.evaluate(async () => {
      const r = await navigator.serviceWorker.ready;
      return r.active?.scriptURL ?? null;
    });
    assert.ok(reg?.endsWith("/sw.js"), `service worker: ${reg}`);
    // Deliver a push payload (docs/protocol.md §8.9) to the worker through the DevTools protocol.
    const cdp = await page.context().newCDPSession(page);
    const registrationId = new Promise((resolve) => {
      cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
        const r = registrations.find((x) => x.scopeURL === `${env.url}/` && !x.isDeleted);
        if (r) resolve(r.registrationId);
      });
    });
    await cdp.send("ServiceWorker.enable");
    const payload = {
      v: 1,
      type: "message",
      channel_id: dm,
      seq: 999,
      message_id: "01JD8Y0A1B2C3D4E5F6G7H8J9K",
      sender_id: alice.user_id,
      preview: "Are we still on for Saturday?",
      badge: 1,
    };
    await cdp.send("ServiceWorker.deliverPushMessage", {
      origin: env.url,
      registrationId: await registrationId,
      data: JSON.stringify(payload),
    });
    const shown = await eventually(
      () =>
        page.evaluate(async () => {
          const r = await navigator.serviceWorker.ready;
          const [n] = await r.getNotifications();
          return n ? { title: n.title, body: n.body, tag: n.tag, data: n.data } : null;
        }),
      { what: "a notification" },
    );
    assert.deepEqual(shown, {
      title: "Alice",
      body: "Are we still on for Saturday?",
      tag: dm,
      data: { channel_id: dm, seq: 999 },
    });
  });

  test("the notification switch subscribes with the VAPID key and tells the server", async () => {
    await page.getByTestId("tab-settings").click();
    const toggle = page.getByTestId("push-toggle");
    const status = page.getByTestId("push-status");
    await eventually(async () => !(await toggle.isDisabled()), { what: "the switch" });

    // The real thing: headless Chromium has no push service, so subscribing fails; the switch
    // says why and stays off (or, with a push service, goes on).
    await toggle.check({ force: true }).catch(() => {});
    await eventually(async () => ["on", "error"].includes(await status.getAttribute("data-state")), {
      what: "an answer",
    });
    if ((await status.getAttribute("data-state")) === "error") {
      assert.equal(await toggle.isChecked(), false);
      await assertText(status, "Couldn't turn notifications on");
    } else {
      await toggle.uncheck();
      await assertText(status, "Off");
    }

    // The same with the browser's push service stubbed: the subscription reaches the server.
    const { public_key } = await api(env.url, "GET", "/push/vapid-public-key");
    await page.evaluate(async () => {
      const key = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
        "deriveBits",
      ]);
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", key.publicKey));
      const b64 = (bytes) =>
        btoa(String.fromCharCode(...bytes))
          .replace(/\+/g, "-")
          .replace(/\//g, "_")
          .replace(/=+$/, "");
      let current = null;
      window.__subscribedWith = null;
      PushManager.prototype.getSubscription = async () => current;
      PushManager.prototype.subscribe = async (options) => {
        window.__subscribedWith = b64(new Uint8Array(options.applicationServerKey));
        const endpoint = "https://push.example.test/send/abc123";
        const json = {
          endpoint,
          expirationTime: null,
          keys: { p256dh: b64(raw), auth: b64(crypto.getRandomValues(new Uint8Array(16))) },
        };
        current = {
          endpoint,
          options,
          toJSON: () => json,
          unsubscribe: async () => {
            current = null;
            return true;
          },
        };
        return current;
      };
    });
    const put = page.waitForResponse(
      (r) => r.url().endsWith("/v1/push/subscription") && r.request().method() === "PUT",
    );
    await toggle.check();
    assert.equal((await put).status(), 204);
    await assertText(status, "On");
    assert.equal(await toggle.isChecked(), true);
    assert.equal(await page.evaluate(() => window.__subscribedWith), public_key);

    const del = page.waitForResponse(
      (r) => r.url().endsWith("/v1/push/subscription") && r.request().method() === "DELETE",
    );
    await toggle.uncheck();
    assert.equal((await del).status(), 204);
    await assertText(status, "Off");
  });

  test("no page errors", () => {
    assert.deepEqual(env.pageErrors, []);
  });
});
