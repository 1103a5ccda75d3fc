/**
 * Shared setup of the browser tests: the real Worker (scripts/boot-worker.mjs, which also serves
 * the web client from web/dist, built here first), Debian's Chromium through playwright-core,
 * and a few steps every scenario takes through the UI (sign up, befriend, open a chat, send).
 * Every step goes through the page as a user would: clicks and typing, found by data-testid.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";
import { bootWorker } from "../../scripts/boot-worker.mjs";
import { buildWeb } from "../../scripts/build-web.mjs";
import { TIER_LIMITS } from "../e2e/limits.mjs";

export const CHROMIUM = "/usr/bin/chromium";
export const PASSWORD = "correct horse battery";
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1200, height: 760 };

/** Builds the web client, boots the Worker and launches Chromium. */
export async function setup({ vars = {} } = {}) {
  await buildWeb({ quiet: true });
  const server = await bootWorker({ vars: { ...TIER_LIMITS, ...vars } });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const pageErrors = [];
  return {
    server,
    browser,
    url: server.url,
    /** Uncaught errors of every page so far; each suite ends by asserting there were none. */
    pageErrors,
    /** A fresh browser profile (its own IndexedDB: a separate device). */
    async newPage({ viewport = DESKTOP, baseURL = server.url } = {}) {
      // A fixed locale and time zone: the same screenshots on every machine.
      const context = await browser.newContext({ viewport, baseURL, locale: "en-US", timezoneId: "UTC" });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      page.on("pageerror", (err) => pageErrors.push(err.message));
      return page;
    },
    async close() {
      await browser.close().catch(() => {});
      await server.close().catch(() => {});
    },
  };
}

/** A REST call as a user, for what a test seeds or checks outside the browser. */
export async function api(base, method, path, token, body) {
  const res = await fetch(`${base}/v1${path}`, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A new account through the API (not the page: `signUp`), with the tier's password: its session. */
export function apiSignUp(base, userHandle, displayName) {
  return api(base, "POST", "/auth/signup", null, {
    handle: userHandle,
    display_name: displayName,
    password: PASSWORD,
  });
}

/** `a` asks `b` to be friends, `b` accepts, and `a` opens their 1:1 chat: its channel id. */
export async function friendsWithDm(base, a, b) {
  await api(base, "POST", "/friends/requests", a.access_token, { user_id: b.user_id });
  await api(base, "POST", `/friends/${a.user_id}/accept`, b.access_token);
  return (await api(base, "POST", "/channels/dm", a.access_token, { user_id: b.user_id })).channel_id;
}

/** Sends `texts` in order on one channel socket, without waiting between them (quicker than REST). */
export async function sendMany(base, token, channelId, texts) {
  const t = await api(base, "POST", "/connect", token, { channel_id: channelId });
  const ws = new WebSocket(t.url, [t.protocol, `ticket.${t.ticket}`]);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", reject);
  });
  let acked = 0;
  const done = new Promise((resolve) =>
    ws.addEventListener("message", (e) => {
      if (e.data !== "pong" && JSON.parse(e.data).type === "ack" && ++acked === texts.length) resolve();
    }),
  );
  const batch = randomBytes(4).toString("hex"); // each call's ids are new: a reused one is a retry
  texts.forEach((text, i) => {
    ws.send(JSON.stringify({ v: 1, type: "send", client_msg_id: `seed-${batch}-${i}`, text }));
  });
  await done;
  ws.close();
}

/** A handle no earlier run has taken (storage may outlive a boot). */
export function handle(name) {
  return `${name}_${randomBytes(4).toString("hex")}`;
}

export async function signUp(page, h, displayName) {
  await page.goto("/");
  await page.getByTestId("auth-switch").click();
  await page.getByTestId("auth-handle").fill(h);
  await page.getByTestId("auth-display-name").fill(displayName);
  await page.getByTestId("auth-password").fill(PASSWORD);
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("app").waitFor();
  await waitConnected(page);
}

export async function logIn(page, h) {
  await page.goto("/");
  await page.getByTestId("auth-handle").fill(h);
  await page.getByTestId("auth-password").fill(PASSWORD);
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("app").waitFor();
  await waitConnected(page);
}

/** The user socket is open: the connection banner is hidden. */
export async function waitConnected(page) {
  await page.locator('[data-testid="app"][data-connection="open"]').waitFor();
}

export function friendRow(page, h, state) {
  return page.locator(`[data-testid="friend-row"][data-handle="${h}"][data-state="${state}"]`);
}

/** `from` sends a request to `toHandle`; `to` accepts it. Both end on the Friends tab. */
export async function befriend(from, to, fromHandle, toHandle) {
  await from.getByTestId("tab-friends").click();
  await from.getByTestId("friend-handle").fill(toHandle);
  await from.getByTestId("friend-add").click();
  await assertText(from.getByTestId("friend-status"), /Request sent/);
  await to.getByTestId("tab-friends").click();
  await friendRow(to, fromHandle, "incoming").getByTestId("friend-accept").click();
  await friendRow(to, fromHandle, "friends").waitFor();
  // The requester learns of it live, from the `friend` frame the acceptance sends.
  await friendRow(from, toHandle, "friends").waitFor();
}

/** Opens the 1:1 chat with a friend from the Friends tab. */
export async function openChatWith(page, friendHandle) {
  await page.getByTestId("tab-friends").click();
  const row = friendRow(page, friendHandle, "friends");
  const userId = await row.getAttribute("data-user-id");
  await row.getByTestId("friend-message").click();
  // The 1:1 channel id names both users (docs/protocol.md §2.1). Wait for its channel socket
  // too: typing indicators and receipts travel there.
  const open = `[data-testid="conversation"][data-channel-id^="dm_"][data-channel-id*="${userId}"][data-socket="open"]`;
  await page.locator(open).waitFor();
}

/** The entry of the Chats list titled `title`. */
export function convItem(page, title) {
  return page
    .locator('[data-testid="conv-item"]')
    .filter({ has: page.getByTestId("conv-name").getByText(title, { exact: true }) });
}

/** Opens a conversation from the Chats list by its title. */
export async function openFromList(page, title) {
  await page.getByTestId("tab-chats").click();
  await convItem(page, title).click();
  await assertText(page.getByTestId("conv-title"), title);
  await page.locator('[data-testid="conversation"][data-socket="open"]').waitFor();
}

export async function send(page, text) {
  const input = page.getByTestId("composer-input");
  await input.fill(text);
  await input.press("Enter");
}

/** A sent (stored) message with exactly this text, in the conversation on screen. */
export function sentMessage(page, text) {
  return page
    .locator('[data-testid="message"][data-status="sent"]')
    .filter({ has: page.getByTestId("message-text").getByText(text, { exact: true }) });
}

/** The texts of the messages on screen, in order. */
export async function messageTexts(page) {
  return page.getByTestId("message-text").allTextContents();
}

/** Waits until `locator`'s text matches (string: contains; RegExp: test). */
export async function assertText(locator, expected, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last = "";
  for (;;) {
    last = (await locator.textContent({ timeout }).catch(() => "")) ?? "";
    if (typeof expected === "string" ? last.includes(expected) : expected.test(last)) return last;
    if (Date.now() > deadline) assert.fail(`expected text ${expected} but found ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the texts of the messages on screen are exactly `want`, in order; reports what was there. */
export async function expectTexts(page, want, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let got = [];
  for (;;) {
    got = await messageTexts(page);
    if (JSON.stringify(got) === JSON.stringify(want)) return;
    if (Date.now() > deadline) assert.deepEqual(got, want, "messages on screen");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually(fn, { timeout = 15_000, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${last}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
