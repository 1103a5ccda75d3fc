// Reading a conversation as people expect (issue #19): one with 300 unread messages opens at
// the first of them under a "New messages" divider, with "Jump to latest"; the read marker moves
// only as far as the reader has seen, never to the end at once; messages that arrive while the
// reader is scrolled up get the divider, those that arrive while they follow the end do not;
// date separators; messages longer than a screen fold behind "Show more".
// Alice is an API client (her messages are seeded over a socket); Bob reads in Chromium.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  api,
  apiSignUp,
  assertText,
  DESKTOP,
  eventually,
  friendsWithDm,
  handle,
  logIn,
  openFromList,
  PASSWORD,
  sendMany,
  sentMessage,
  setup,
} from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Is `locator`'s element inside the message list's visible area? */
function inView(locator) {
  return locator.evaluate((el) => {
    const list = el.closest('[data-testid="message-list"]');
    const a = el.getBoundingClientRect();
    const b = list.getBoundingClientRect();
    return a.bottom > b.top && a.top < b.bottom;
  });
}

describe("reading: where it stopped, dates and long messages", () => {
  let env;
  let page;
  let alice;
  let bob;
  let dm;
  const a = handle("alice");
  const b = handle("bob");
  const READ = 20;
  const UNREAD = 300;

  /** Bob's read marker, as the server holds it. */
  async function bobsMarker() {
    const r = await api(env.url, "GET", `/channels/${dm}/receipts`, bob.access_token);
    return r.members.find((m) => m.user_id === bob.user_id).read_seq;
  }
  const fromAlice = (text) =>
    api(env.url, "POST", `/channels/${dm}/messages`, alice.access_token, {
      client_msg_id: `a-${text.slice(0, 20)}-${Math.random()}`,
      text,
    });

  before(async () => {
    env = await setup();
    alice = await apiSignUp(env.url, a, "Alice");
    bob = await apiSignUp(env.url, b, "Bob");
    dm = await friendsWithDm(env.url, alice, bob);
    // Bob read the first 20 (on another device); 300 more came since.
    await sendMany(
      env.url,
      alice.access_token,
      dm,
      Array.from({ length: READ }, (_, i) => `r ${i + 1}`),
    );
    await api(env.url, "POST", `/channels/${dm}/read`, bob.access_token, { seq: READ });
    await sendMany(
      env.url,
      alice.access_token,
      dm,
      Array.from({ length: UNREAD }, (_, i) => `u ${i + 1}`),
    );
    page = await env.newPage({ viewport: DESKTOP });
    await logIn(page, b);
  });
  after(() => env?.close());

  test("300 unread: opens at the first under the divider; the marker follows what is seen", async () => {
    await openFromList(page, "Alice");
    await page.locator('[data-testid="conversation"][data-settled]').waitFor();
    // The divider sits right above the first unread message, and that is what is on screen.
    const divider = page.getByTestId("unread-divider");
    await assertText(divider, "New messages");
    const first = sentMessage(page, "u 1");
    assert.equal(await first.evaluate((el) => el.previousElementSibling?.dataset.testid), "unread-divider");
    assert.ok(await inView(divider), "the divider is on screen");
    assert.ok(await inView(first), "the first unread is on screen");
    assert.equal(await inView(sentMessage(page, `u ${UNREAD}`)), false, "not the newest");
    // The last read message is loaded just above it, to scroll up to.
    assert.equal(
      await divider.evaluate(
        (el) => el.previousElementSibling?.querySelector('[data-testid="message-text"]')?.textContent,
      ),
      `r ${READ}`,
    );

    // "Jump to latest", with how many new messages are below the screen.
    const jump = page.getByTestId("jump-latest");
    await jump.waitFor();
    const countText = await page.getByTestId("jump-count").textContent();
    const below = Number(countText.match(/^(\d+) new$/)?.[1]);
    const onScreen = await page.locator('[data-testid="message"][data-status="sent"]').evaluateAll(
      (els, read) =>
        els.filter((el) => {
          const r = el.getBoundingClientRect();
          const l = el.closest('[data-testid="message-list"]').getBoundingClientRect();
          return Number(el.dataset.seq) > read && r.bottom <= l.bottom + 2;
        }).length,
      READ,
    );
    assert.ok(onScreen > 0 && onScreen < 60, `some unread on screen: ${onScreen}`);
    assert.equal(below, UNREAD - onScreen, "the count of those below");

    // The marker moved over what is on screen, not to the end.
    await eventually(async () => (await bobsMarker()) > READ, { what: "the marker to move" });
    await sleep(1_500); // past the SDK's one `read` per second: nothing more may follow
    const marker = await bobsMarker();
    assert.equal(marker, READ + onScreen, "read as far as seen");

    // One screen further down: the marker follows.
    await page.getByTestId("message-list").evaluate((el) => {
      el.scrollTop += el.clientHeight;
    });
    await eventually(async () => (await bobsMarker()) > marker, { what: "the marker to follow" });
    assert.ok((await bobsMarker()) < READ + UNREAD);

    // Jump to latest: the newest is on screen, everything is read, the button goes.
    await jump.click();
    assert.ok(await inView(sentMessage(page, `u ${UNREAD}`)));
    await eventually(async () => (await bobsMarker()) === READ + UNREAD, { what: "all read" });
    await eventually(async () => await jump.isHidden(), { what: "the button to go" });
    // The divider stays where reading had stopped, for this visit.
    assert.equal(await divider.count(), 1);
  });

  test("new messages: marked read while followed; a divider above those that came while scrolled up", async () => {
    // Reopened with nothing unread: at the newest, no divider.
    await page.reload();
    await page.locator('[data-testid="conversation"][data-settled]').waitFor();
    assert.equal(await page.getByTestId("unread-divider").count(), 0);
    assert.ok(await inView(sentMessage(page, `u ${UNREAD}`)));
    assert.equal(await page.getByTestId("jump-latest").isHidden(), true);

    // At the end: a new message shows, is read, and gets no divider.
    await fromAlice("live 1");
    await sentMessage(page, "live 1").waitFor();
    assert.ok(await inView(sentMessage(page, "live 1")));
    await eventually(async () => (await bobsMarker()) === READ + UNREAD + 1, { what: "live 1 read" });
    assert.equal(await page.getByTestId("unread-divider").count(), 0);

    // Scrolled up: two arrive, below the screen, unread, under a divider, counted on the button.
    await page.getByTestId("message-list").evaluate((el) => {
      el.scrollTop = el.scrollHeight / 2;
    });
    await fromAlice("late 1");
    await fromAlice("late 2");
    await sentMessage(page, "late 2").waitFor({ state: "attached" });
    await assertText(page.getByTestId("jump-count"), "2 new");
    const late = sentMessage(page, "late 1");
    assert.equal(await late.evaluate((el) => el.previousElementSibling?.dataset.testid), "unread-divider");
    assert.equal(await inView(late), false);
    await sleep(1_200);
    assert.equal(await bobsMarker(), READ + UNREAD + 1, "not read while off screen");

    await page.getByTestId("jump-latest").click();
    await eventually(async () => (await bobsMarker()) === READ + UNREAD + 3, { what: "late ones read" });
  });

  test("date separators: one above each day's first message", async () => {
    // The server stamps messages with the time they are stored, so a test cannot make days pass.
    // A second device of Bob's reads this chat's history through a route that moves the
    // messages' days back and re-signs the hash chain (docs/protocol.md §2.6) so that the page
    // still checks: the web client shows it as it would a conversation of several days.
    const DAY = 86_400_000;
    const daysAgo = [8, 8, 3, 1, 1, 0];
    const texts = daysAgo.map((d, i) => `day ${i + 1}, ${d} days ago`);
    const carol = await api(env.url, "POST", "/auth/signup", null, {
      handle: handle("carol"),
      display_name: "Carol",
      password: PASSWORD,
    });
    await api(env.url, "POST", "/friends/requests", carol.access_token, { user_id: bob.user_id });
    await api(env.url, "POST", `/friends/${carol.user_id}/accept`, bob.access_token);
    const ch = (await api(env.url, "POST", "/channels/dm", carol.access_token, { user_id: bob.user_id }))
      .channel_id;
    await sendMany(env.url, carol.access_token, ch, texts);
    await api(env.url, "POST", `/channels/${ch}/read`, bob.access_token, { seq: texts.length });

    const second = await env.newPage({ viewport: DESKTOP });
    await second.route(`**/v1/channels/${ch}/messages*`, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      let prev = body.prev_hash;
      for (const m of body.messages) {
        m.ts -= daysAgo[m.seq - 1] * DAY;
        m.hash = chainHash(prev, m);
        prev = m.hash;
      }
      await route.fulfill({ response: res, json: body });
    });
    try {
      await logIn(second, b);
      await openFromList(second, "Carol");
      await sentMessage(second, texts.at(-1)).waitFor();
      const now = Date.now();
      const on = (d) => new Date(now - d * DAY);
      const fmt = (opts) => new Intl.DateTimeFormat("en-US", { timeZone: "UTC", ...opts });
      const long = on(8).getUTCFullYear() === on(0).getUTCFullYear() ? {} : { year: "numeric" };
      const want = [
        fmt({ weekday: "long", month: "long", day: "numeric", ...long }).format(on(8)),
        fmt({ weekday: "long" }).format(on(3)),
        "Yesterday",
        "Today",
      ];
      assert.deepEqual(await second.getByTestId("day-separator").allTextContents(), want);
      // Each separator is right above the first message of its day.
      const firsts = await second
        .getByTestId("day-separator")
        .evaluateAll((els) =>
          els.map((el) => el.nextElementSibling?.querySelector('[data-testid="message-text"]')?.textContent),
        );
      assert.deepEqual(firsts, [texts[0], texts[2], texts[3], texts[5]]);
      assert.deepEqual(env.pageErrors, []);
    } finally {
      await second.context().close();
    }
  });

  test("a message longer than a screen folds behind Show more; short ones do not", async () => {
    await openFromList(page, "Alice");
    // 100,000 code points, astral characters among them (two UTF-16 units each).
    const huge = `${"🎉 party ".repeat(12_500)}`;
    assert.equal([...huge].length, 100_000);
    const tall = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join("\n");
    const lines = Array.from({ length: 8 }, (_, i) => `short ${i + 1}`).join("\n");
    const wide = `a fair paragraph ${"word ".repeat(120)}end`; // long, but a few lines on a desktop
    for (const text of [huge, tall, lines, wide]) await fromAlice(text);
    await sentMessage(page, wide).waitFor();
    const height = await page.evaluate(() => window.innerHeight);
    const message = (text) =>
      page
        .locator('[data-testid="message"][data-status="sent"]')
        .filter({ has: page.getByTestId("message-text").getByText(text.slice(0, 30)) })
        .last();

    const big = message(huge);
    const bubble = big.getByTestId("message-text");
    const box = async () => (await bubble.boundingBox()).height;
    assert.ok((await box()) <= height * 0.5 + 2, `folded: ${await box()}px`);
    const more = big.getByTestId("show-more");
    await assertText(more, "Show more");
    assert.equal(await more.getAttribute("aria-expanded"), "false");
    assert.equal(await message(tall).getByTestId("show-more").isVisible(), true);
    assert.equal(await message(lines).getByTestId("show-more").count(), 0);
    assert.equal(await message(wide).getByTestId("show-more").count(), 0);

    // Unfolded: the whole text, exactly, as tall as it is.
    await more.click();
    await assertText(more, "Show less");
    assert.equal(await more.getAttribute("aria-expanded"), "true");
    assert.equal(await bubble.textContent(), huge);
    assert.ok((await box()) > height * 10, `unfolded: ${await box()}px`);
    // And folded again, with its start on screen.
    await more.click();
    await assertText(more, "Show more");
    assert.ok((await box()) <= height * 0.5 + 2);
    assert.ok(await inView(big));
  });

  test("no page errors", () => {
    assert.deepEqual(env.pageErrors, []);
  });
});

/** A message's chain hash after `prev` (docs/protocol.md §2.6). */
function chainHash(prev, m) {
  const fields = [
    "message",
    m.channel_id,
    String(m.seq),
    m.id,
    m.sender_id,
    m.client_msg_id,
    String(m.ts),
    m.text,
  ];
  const bytes = Buffer.concat(
    fields.flatMap((f) => {
      const b = Buffer.from(f, "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return [len, b];
    }),
  );
  const digest = createHash("sha256").update(bytes).digest();
  return createHash("sha256")
    .update(Buffer.concat([Buffer.from(prev, "hex"), digest]))
    .digest("hex");
}
