// Photos and files, search and "download my data" in the browser (issue #20): a photo Alice
// sends shows on Bob's screen at its own aspect ratio from the preview the server made (never
// the full image), a file as a card that downloads its exact bytes; an upload shows its progress
// and can be cancelled; a search hit (Korean, across conversations and in one) opens the
// conversation at the message, paging back to it, or, far back in a long conversation, shows it
// in context; and Settings -> Download my data saves a ZIP holding every message once, with the
// photo's bytes.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { crc32, deflateSync } from "node:zlib";
import { ExportReader } from "../../client/src/index.ts";
import {
  api,
  apiSignUp,
  assertText,
  eventually,
  friendsWithDm,
  handle,
  logIn,
  openFromList,
  sendMany,
  sentMessage,
  setup,
} from "./helpers.mjs";

/** A PNG of `width` × `height` pixels (an RGB gradient), encoded here: no image library needed. */
function png(width, height) {
  const row = width * 3 + 1;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * row + 1 + x * 3;
      raw[at] = Math.floor((x * 255) / width);
      raw[at + 1] = Math.floor((y * 255) / height);
      raw[at + 2] = 128;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Every entry of a ZIP export, with its bytes. */
function readZip(bytes) {
  const entries = [];
  const reader = new ExportReader(
    (e) => entries.push(e),
    () => true,
  );
  reader.push(new Uint8Array(bytes));
  assert.ok(reader.done, "the archive is whole");
  return entries;
}

describe("photos and files, search and download my data", () => {
  let env;
  let alice;
  let bob;
  let aliceSession;
  let bobSession;
  let dm;
  let group;
  /** A group whose one Korean message is 600 messages back: further than the view pages to. */
  const LONG = 600;
  const a = handle("alice");
  const b = handle("bob");
  /** Messages seeded before the photo: the Korean ones early, far enough back to need paging. */
  const SEEDED = 130;
  const seeded = Array.from({ length: SEEDED }, (_, i) => `m ${i + 1}`);
  seeded[2] = "내일 학교에서 만나요"; // "see you at school tomorrow": 학교 followed by the particle 에서
  seeded[4] = "꽃 사진 보내줄게"; // "I'll send you a photo of a flower": a one-syllable word
  const photo = png(1600, 1000);
  const notes = Buffer.from("shopping list\n- rice\n- kimchi\n".repeat(40));

  before(async () => {
    env = await setup();
    aliceSession = await apiSignUp(env.url, a, "Alice");
    bobSession = await apiSignUp(env.url, b, "Bob");
    dm = await friendsWithDm(env.url, aliceSession, bobSession);
    await sendMany(env.url, aliceSession.access_token, dm, seeded);
    group = (
      await api(env.url, "POST", "/groups", aliceSession.access_token, {
        name: "Trip",
        member_ids: [bobSession.user_id],
      })
    ).channel_id;
    await sendMany(env.url, aliceSession.access_token, group, [
      "바다 보러 가자",
      ...Array.from({ length: LONG }, (_, i) => `plan ${i + 1}`),
    ]);
    alice = await env.newPage();
    bob = await env.newPage();
    await logIn(alice, a);
    await logIn(bob, b);
  });
  after(() => env?.close());

  test("an upload shows its progress and can be cancelled: nothing is sent", async () => {
    await openFromList(alice, "Bob");
    // A slow link, so the upload is seen under way (Chromium throttles the request body).
    const cdp = await alice.context().newCDPSession(alice);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 256 * 1024,
    });
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    await alice
      .getByTestId("attach-input")
      .setInputFiles({ name: "big.bin", mimeType: "application/octet-stream", buffer: big });
    const chip = alice.getByTestId("upload-chip");
    await chip.waitFor();
    const bar = chip.getByTestId("upload-progress");
    const under = await eventually(
      async () => {
        const v = Number(await bar.evaluate((el) => el.value));
        return v > 0 && v < 1 ? v : false;
      },
      { what: "the progress bar moving" },
    );
    assert.ok(under > 0 && under < 1);
    await chip.getByTestId("upload-cancel").click();
    await chip.waitFor({ state: "detached" });
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    await cdp.detach();
    // The cancelled file is not part of the next message.
    const input = alice.getByTestId("composer-input");
    await input.fill("never mind the big file");
    await input.press("Enter");
    await sentMessage(alice, "never mind the big file").waitFor();
    const page = await api(env.url, "GET", `/channels/${dm}/messages?limit=1`, aliceSession.access_token);
    assert.equal(page.messages[0].text, "never mind the big file");
    assert.equal(page.messages[0].attachments, undefined);
  });

  test("a photo and a file sent by Alice show on Bob's screen: the photo from its preview, the file as a card", async () => {
    await alice.getByTestId("attach-input").setInputFiles([
      { name: "beach.png", mimeType: "image/png", buffer: photo },
      { name: "notes.txt", mimeType: "text/plain", buffer: notes },
    ]);
    await eventually(
      async () => (await alice.locator('[data-testid="upload-chip"][data-state="ready"]').count()) === 2,
      { what: "both uploads ready" },
    );
    const input = alice.getByTestId("composer-input");
    await input.fill("the beach");
    await input.press("Enter");
    await sentMessage(alice, "the beach").waitFor();
    assert.equal(await alice.getByTestId("upload-chip").count(), 0, "the chips go with the send");

    const fetched = [];
    bob.on("request", (r) => {
      if (r.url().includes("/attachments/")) fetched.push(new URL(r.url()).pathname);
    });
    await openFromList(bob, "Alice");
    const img = bob.locator('[data-testid="message"]').last().getByTestId("attachment-image");
    await img.waitFor();
    const shown = await eventually(
      () =>
        img.evaluate((el) =>
          el.complete && el.naturalWidth > 0
            ? {
                natural: [el.naturalWidth, el.naturalHeight],
                box: [el.getBoundingClientRect().width, el.getBoundingClientRect().height],
              }
            : null,
        ),
      { what: "the photo shown" },
    );
    // The preview the server made (640 px on its longer side), not the 1600 px original.
    assert.deepEqual(shown.natural, [640, 400]);
    assert.ok(Math.abs(shown.box[0] / shown.box[1] - 1.6) < 0.02, `aspect ratio ${shown.box}`);
    assert.ok(fetched.length > 0 && fetched.every((p) => p.endsWith("/preview")), fetched.join());

    const card = bob.locator('[data-testid="message"]').last().getByTestId("attachment-file");
    await assertText(card.getByTestId("attachment-name"), "notes.txt");
    await assertText(card.getByTestId("attachment-size"), `${Math.round(notes.length / 1024)} KB`);
    const [download] = await Promise.all([bob.waitForEvent("download"), card.click()]);
    assert.equal(download.suggestedFilename(), "notes.txt");
    assert.deepEqual(await readFile(await download.path()), notes);
  });

  test("a search hit opens the conversation at the message, paging back to it", async () => {
    // Across all conversations: a two-syllable Korean word followed by a particle.
    await bob.getByTestId("tab-search").click();
    await bob.getByTestId("search-input").fill("학교");
    const hit = bob.getByTestId("search-hit").first();
    await assertText(hit.getByTestId("hit-text"), "내일 학교에서 만나요");
    assert.equal(await hit.locator("mark").textContent(), "학교");
    assert.equal(await bob.getByTestId("search-hit").count(), 1);
    await hit.click();
    // Message 3 of 130+ is several pages back: the view pages to it and marks it.
    const target = bob.locator('[data-testid="message-list"] [data-seq="3"]');
    await target.waitFor();
    await eventually(() => target.evaluate((el) => el.hasAttribute("data-flash")), {
      what: "the hit marked",
    });
    await eventually(
      () =>
        target.evaluate((el) => {
          const r = el.getBoundingClientRect();
          const list = el.closest('[data-testid="message-list"]').getBoundingClientRect();
          return r.top >= list.top && r.bottom <= list.bottom;
        }),
      { what: "the hit scrolled into view" },
    );

    // In one conversation, from its header: a one-syllable word.
    await bob.getByTestId("conv-search").click();
    await assertText(bob.getByTestId("search-scope"), "In Alice");
    await bob.getByTestId("search-input").fill("꽃");
    await assertText(bob.getByTestId("search-hit").first().getByTestId("hit-text"), "꽃 사진 보내줄게");
    assert.equal(await bob.getByTestId("search-hit").count(), 1);
    assert.equal(await bob.getByTestId("search-hit").first().getAttribute("data-seq"), "5");
  });

  test("a hit far back in a long conversation is shown in context, with a way into it", async () => {
    await bob.getByTestId("search-all").click();
    await bob.getByTestId("search-input").fill("바다");
    const hit = bob.getByTestId("search-hit").first();
    await assertText(hit.getByTestId("hit-text"), "바다 보러 가자");
    assert.equal(await hit.getAttribute("data-channel-id"), group);
    const seq = await hit.getAttribute("data-seq");
    await hit.click();
    // Six hundred messages back: the page around it, the hit marked, instead of paging there.
    const context = bob.getByTestId("search-context");
    await context.waitFor();
    const marked = context.locator(`[data-seq="${seq}"][data-hit]`);
    await marked.waitFor();
    await assertText(marked, "바다 보러 가자");
    assert.ok((await context.getByTestId("message").count()) > 1, "with the messages after it");
    await context.getByTestId("context-open").click();
    await bob.locator(`[data-testid="conversation"][data-channel-id="${group}"]`).waitFor();
    await sentMessage(bob, `plan ${LONG}`).waitFor();
  });

  test("Settings -> Download my data saves a ZIP with every message once and the photo", async () => {
    await bob.getByTestId("tab-settings").click();
    const [download] = await Promise.all([
      bob.waitForEvent("download", { timeout: 30_000 }),
      bob.getByTestId("export-all").click(),
    ]);
    assert.match(download.suggestedFilename(), /^edge-chat-all-\d{4}-\d{2}-\d{2}\.zip$/);
    await assertText(bob.getByTestId("export-status"), /^Saved /);
    assert.equal(Number(await bob.getByTestId("export-progress").evaluate((el) => el.value)), 1);

    const entries = readZip(await readFile(await download.path()));
    const messages = entries
      .filter((e) => e.name.startsWith(`channels/${dm}/messages-`))
      .flatMap((e) => new TextDecoder().decode(e.data).trim().split("\n").map(JSON.parse));
    const texts = messages.map((m) => m.text);
    assert.deepEqual(texts, [...seeded, "never mind the big file", "the beach"]);
    assert.equal(new Set(messages.map((m) => m.seq)).size, messages.length, "each message once");
    const beach = messages.at(-1).attachments.find((x) => x.name === "beach.png");
    const bytes = entries.find((e) => e.name === `channels/${dm}/attachments/${beach.id}/beach.png`);
    assert.ok(bytes, "the photo is in the archive");
    assert.ok(Buffer.from(bytes.data).equals(photo), "with its exact bytes");
    // And the group, every message once.
    const trip = entries
      .filter((e) => e.name.startsWith(`channels/${group}/messages-`))
      .flatMap((e) => new TextDecoder().decode(e.data).trim().split("\n").map(JSON.parse));
    assert.equal(trip.length, LONG + 1);
    assert.equal(new Set(trip.map((m) => m.seq)).size, trip.length, "each message once");
    assert.deepEqual(
      trip.map((m) => m.text),
      ["바다 보러 가자", ...Array.from({ length: LONG }, (_, i) => `plan ${i + 1}`)],
    );
    assert.deepEqual(env.pageErrors, []);
  });
});
