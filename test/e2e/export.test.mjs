// "Download my data" through the real Worker (docs/protocol.md §8.12), on a small archive
// (segments of 50 messages, 100 kept hot), so most of each conversation is read back from R2:
// an export contains every message once, its attachments' bytes, and a well-formed ZIP.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ExportReader } from "../../client/src/index.ts";
import { bootWorker } from "../../scripts/boot-worker.mjs";
import { TIER_LIMITS } from "./limits.mjs";
import { befriend, history, rawChannelSocket, signup, tracker, waitFor } from "./sdk-helpers.mjs";

let server;
let env;
const t = tracker();

before(async () => {
  server = await bootWorker({
    vars: { ...TIER_LIMITS, ARCHIVE_SEGMENT_MESSAGES: "50", HOT_MESSAGES: "100" },
  });
  env = await server.worker.getEnv();
});
after(async () => {
  t.closeAll();
  await server?.close();
});

/** Reads a whole export: its entries (with their bytes) and the count its end record gives. */
async function readExport(client, scope) {
  const res = await client.exportData(scope);
  assert.equal(res.headers.get("content-type"), "application/zip");
  const entries = [];
  const reader = new ExportReader(
    (e) => entries.push(e),
    () => true,
  );
  const chunks = [];
  for await (const chunk of res.body) {
    reader.push(chunk);
    chunks.push(chunk);
  }
  assert.ok(reader.done, "the archive ends with its central directory");
  const all = Buffer.concat(chunks);
  // The end of central directory record: the entry count matches what was streamed.
  const eocd = all.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd > 0);
  assert.equal(all.readUInt16LE(eocd + 10), entries.length);
  return entries;
}

function messagesIn(entries) {
  const out = [];
  for (const e of entries) {
    if (!/^channels\/[^/]+\/messages-\d+-\d+\.jsonl$/.test(e.name)) continue;
    for (const line of new TextDecoder().decode(e.data).split("\n")) if (line) out.push(JSON.parse(line));
  }
  return out;
}

const key = (m) => `${m.channel_id}:${m.seq}`;

test("an export of a user with archived history contains every message once, with attachments", async () => {
  const a = await signup(t, server.url, "exa");
  const b = await signup(t, server.url, "exb");
  await befriend(a, b);
  const group = await a.createGroup("export", [b.session.user_id]);
  const dm = await a.openDm(b.session.user_id);
  const ga = await rawChannelSocket(t, a, group.channel_id);
  const gb = await rawChannelSocket(t, b, group.channel_id);
  const da = await rawChannelSocket(t, a, dm.channel_id);
  await ga.sendMany(150, (i) => `from a ${i}`);
  await gb.sendMany(60, (i) => `from b ${i}`);
  await ga.sendMany(150, (i) => `again a ${i}`);
  await da.sendMany(30, (i) => `dm ${i}`);
  const bytes = new Uint8Array(200_000).map((_, i) => (i * 31) % 251);
  const file = await a.uploadAttachment(dm.channel_id, new Blob([bytes]), { name: "notes.bin" });
  const echo = a.send(dm.channel_id, "the notes", { attachments: [file] });
  a.connect();
  await waitFor("the file sent", () =>
    a.messages(dm.channel_id).some((m) => m.client_msg_id === echo.client_msg_id && m.status === "sent"),
  );
  // Most of the group's history is sealed in R2 and gone from SQLite.
  await waitFor(
    "archived",
    async () => (await env.CHANNEL_ROOM.getByName(group.channel_id).archiveStats()).first_hot_seq > 200,
  );

  const everything = [...(await history(a, group.channel_id)), ...(await history(a, dm.channel_id))];
  assert.equal(everything.length, 360 + 31);

  const mine = await readExport(a, "mine");
  const sentByA = messagesIn(mine);
  assert.equal(new Set(sentByA.map(key)).size, sentByA.length, "each message once");
  assert.deepEqual(
    sentByA.map(key).sort(),
    everything
      .filter((m) => m.sender_id === a.session.user_id)
      .map(key)
      .sort(),
  );
  const notes = mine.find((e) => e.name === `channels/${dm.channel_id}/attachments/${file.id}/notes.bin`);
  assert.deepEqual(new Uint8Array(notes.data), bytes);
  const manifest = JSON.parse(new TextDecoder().decode(mine.find((e) => e.name === "export.json").data));
  assert.equal(manifest.scope, "mine");
  assert.equal(manifest.channels.length, 2);
  const account = JSON.parse(new TextDecoder().decode(mine.find((e) => e.name === "account.json").data));
  assert.equal(account.user.id, a.session.user_id);
  assert.equal(account.friends[0].user.id, b.session.user_id);
  assert.ok(account.devices.length >= 1);

  const all = messagesIn(await readExport(b, "all"));
  assert.equal(new Set(all.map(key)).size, all.length, "each message once");
  assert.deepEqual(all.map(key).sort(), everything.map(key).sort());
  for (const m of all) assert.equal(m.text, everything.find((x) => key(x) === key(m)).text);
});
