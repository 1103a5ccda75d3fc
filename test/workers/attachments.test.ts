/**
 * Attachments through the real Worker (docs/protocol.md §8.10): uploads streamed to R2 and
 * checked (size, declared against sniffed type, an image's size read and its preview made),
 * reads authorised on every request, and objects that go with their message or when never sent.
 */

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { PhotonImage } from "@cf-wasm/photon";
import { describe, expect, it } from "vitest";
import { ChainCheck } from "../../client/src/chain-check.ts";
import { UNSENT_TTL_MS } from "../../durable-objects/channel-room/attachments.ts";
import type { ChannelRoom } from "../../durable-objects/channel-room/channel-room.ts";
import type { WireAttachment } from "../../protocol/frames.ts";
import { MAX_ATTACHMENT_BYTES, PREVIEW_MAX_SIDE } from "../../protocol/limits.ts";
import type { HistoryPage } from "../../protocol/rpc.ts";
import { api, befriend, createGroup, groupOfTwo, signup, type TestUser } from "../fixtures/api.ts";

/** An image of `width` × `height` pixels (a gradient), encoded as PNG or JPEG by Photon. */
function image(width: number, height: number, type: "png" | "jpeg"): Uint8Array {
  const px = new Uint8Array(width * height * 4);
  for (let i = 0; i < px.length; i += 4) {
    px[i] = (i / 4) % 256;
    px[i + 1] = 90;
    px[i + 2] = 200;
    px[i + 3] = 255;
  }
  const img = new PhotonImage(px, width, height);
  try {
    return type === "png" ? img.get_bytes() : img.get_bytes_jpeg(85);
  } finally {
    img.free();
  }
}

async function upload(
  user: TestUser,
  channelId: string,
  bytes: Uint8Array,
  name: string,
  type: string,
  headers: Record<string, string> = {},
) {
  const res = await exports.default.fetch(
    `http://chat.test/v1/channels/${channelId}/attachments?name=${encodeURIComponent(name)}`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": type, ...headers },
      body: bytes,
    },
  );
  // biome-ignore lint/suspicious/noExplicitAny: the body is what the test asserts.
  return { status: res.status, body: (await res.json()) as any };
}

async function download(user: TestUser, channelId: string, id: string, preview = false) {
  return exports.default.fetch(
    `http://chat.test/v1/channels/${channelId}/attachments/${id}${preview ? "/preview" : ""}`,
    { headers: { authorization: `Bearer ${user.token}` } },
  );
}

async function send(
  user: TestUser,
  channelId: string,
  clientMsgId: string,
  attachments: string[],
  text = "",
) {
  return api("POST", `/v1/channels/${channelId}/messages`, {
    token: user.token,
    body: { client_msg_id: clientMsgId, text, attachments },
  });
}

/** The keys R2 holds under a channel's attachments. */
async function objectsOf(channelId: string): Promise<string[]> {
  const listed = await env.ARCHIVE.list({ prefix: `attachments/${channelId}/` });
  return listed.objects.map((o) => o.key).sort();
}

describe("attachments", () => {
  it("an image sent by one member is read, with its preview, by another, at its aspect ratio", async () => {
    const { a, b, group } = await groupOfTwo();
    const png = image(1600, 900, "png");
    const up = await upload(a, group.channel_id, png, "harbour.png", "image/png");
    expect(up.status).toBe(201);
    const att = up.body.attachment as WireAttachment;
    expect(att).toMatchObject({
      kind: "image",
      type: "image/png",
      size: png.byteLength,
      width: 1600,
      height: 900,
    });
    expect(att.preview).toEqual({ width: PREVIEW_MAX_SIDE, height: 360 });

    const sent = await send(a, group.channel_id, "photo-1", [att.id], "the harbour");
    expect(sent.status).toBe(201);
    const page = await api<HistoryPage>("GET", `/v1/channels/${group.channel_id}/messages`, {
      token: b.token,
    });
    const message = page.body.messages.at(-1)!;
    expect(message.attachments).toEqual([att]);
    // The chain covers the attachment: the SDK's check passes, and fails if it were altered.
    new ChainCheck().page(group.channel_id, page.body.prev_hash, page.body.messages);
    const altered = { ...message, attachments: [{ ...att, name: "other.png" }] };
    expect(() => new ChainCheck().page(group.channel_id, page.body.prev_hash, [altered])).toThrow();

    const full = await download(b, group.channel_id, att.id);
    expect(full.status).toBe(200);
    expect(full.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(png);
    const preview = await download(b, group.channel_id, att.id, true);
    expect(preview.status).toBe(200);
    const small = PhotonImage.new_from_byteslice(new Uint8Array(await preview.arrayBuffer()));
    expect([small.get_width(), small.get_height()]).toEqual([PREVIEW_MAX_SIDE, 360]);
    small.free();
  });

  it("a file is a file: its card's name and size, served as a download that never renders", async () => {
    const { a, b, group } = await groupOfTwo();
    const pdf = new TextEncoder().encode("%PDF-1.7\n% a tiny document\n");
    const up = await upload(a, group.channel_id, pdf, "minutes.pdf", "application/pdf");
    expect(up.status).toBe(201);
    expect(up.body.attachment).toMatchObject({
      kind: "file",
      name: "minutes.pdf",
      type: "application/pdf",
      size: pdf.byteLength,
    });
    expect(up.body.attachment.preview).toBeUndefined();
    await send(a, group.channel_id, "file-1", [up.body.attachment.id]);
    const res = await download(b, group.channel_id, up.body.attachment.id);
    expect(res.headers.get("content-disposition")).toBe("attachment; filename*=UTF-8''minutes.pdf");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(pdf);
  });

  it("refuses an upload over 25 MiB from its Content-Length, storing nothing", async () => {
    const { a, group } = await groupOfTwo();
    const res = await exports.default.fetch(
      `http://chat.test/v1/channels/${group.channel_id}/attachments?name=big.bin`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${a.token}`,
          "content-type": "application/octet-stream",
          "content-length": String(MAX_ATTACHMENT_BYTES + 1),
        },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new Uint8Array(16));
            c.close();
          },
        }),
      },
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("attachment_too_large");
    expect(await objectsOf(group.channel_id)).toEqual([]);
  });

  it("accepts exactly 25 MiB, streamed", async () => {
    const { a, group } = await groupOfTwo();
    const chunk = new Uint8Array(1024 * 1024).fill(7);
    let sentChunks = 0;
    const res = await exports.default.fetch(
      `http://chat.test/v1/channels/${group.channel_id}/attachments?name=max.bin`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${a.token}`,
          "content-type": "application/octet-stream",
          "content-length": String(MAX_ATTACHMENT_BYTES),
        },
        body: new ReadableStream({
          pull(c) {
            if (sentChunks++ < 25) c.enqueue(chunk);
            else c.close();
          },
        }),
      },
    );
    expect(res.status).toBe(201);
    const head = await env.ARCHIVE.head(
      `attachments/${group.channel_id}/${((await res.json()) as { attachment: { id: string } }).attachment.id}`,
    );
    expect(head?.size).toBe(MAX_ATTACHMENT_BYTES);
  });

  it("refuses a declared type the bytes contradict, and an image it cannot read, leaving nothing in R2", async () => {
    const { a, group } = await groupOfTwo();
    const jpeg = image(40, 30, "jpeg");
    const lying = await upload(a, group.channel_id, jpeg, "cat.png", "image/png");
    expect(lying.status).toBe(415);
    expect(lying.body.error.code).toBe("attachment_refused");
    const notImage = await upload(
      a,
      group.channel_id,
      new TextEncoder().encode("hello, not a picture"),
      "x.png",
      "image/png",
    );
    expect(notImage.status).toBe(415);
    // A PNG header on broken pixel data: sniffed and sized, but it does not decode.
    const broken = image(64, 64, "png").slice(0, 60);
    const bad = await upload(a, group.channel_id, broken, "broken.png", "image/png");
    expect(bad.status).toBe(415);
    // The refused uploads' objects are deleted right after the answer.
    await expect.poll(() => objectsOf(group.channel_id), { timeout: 5_000 }).toEqual([]);
    // An octet-stream upload that is a JPEG is taken for what it is.
    const vague = await upload(a, group.channel_id, jpeg, "photo", "application/octet-stream");
    expect(vague.body.attachment).toMatchObject({ kind: "image", type: "image/jpeg", width: 40, height: 30 });
  });

  it("only members read, every request: not a stranger, not a later joiner before their join", async () => {
    const { a, b, group } = await groupOfTwo();
    const up = await upload(a, group.channel_id, image(20, 20, "png"), "dot.png", "image/png");
    const id = up.body.attachment.id as string;
    // Before it is sent, only its uploader reads it.
    expect((await download(a, group.channel_id, id)).status).toBe(200);
    expect((await download(b, group.channel_id, id)).status).toBe(404);
    await send(a, group.channel_id, "dot", [id]);
    expect((await download(b, group.channel_id, id)).status).toBe(200);

    const stranger = await signup("s");
    const res = await download(stranger, group.channel_id, id);
    expect(res.status).toBe(403);
    // The same id under a channel the stranger is in names nothing there.
    const own = await groupOfTwo();
    expect((await download(own.a, own.group.channel_id, id)).status).toBe(404);

    const late = await signup("late");
    await befriend(a, late);
    expect(
      (
        await api("POST", `/v1/groups/${group.channel_id}/members`, {
          token: a.token,
          body: { user_ids: [late.id] },
        })
      ).status,
    ).toBe(200);
    expect((await download(late, group.channel_id, id)).status).toBe(404);
    // A send may not take someone else's upload, nor one already sent.
    const again = await send(b, group.channel_id, "steal", [id]);
    expect(again.status).toBe(400);
  });

  it("a retry of a send with attachments gets the original ack", async () => {
    const { a, group } = await groupOfTwo();
    const up = await upload(a, group.channel_id, image(10, 10, "png"), "p.png", "image/png");
    const first = await send(a, group.channel_id, "retry-me", [up.body.attachment.id]);
    const retry = await send(a, group.channel_id, "retry-me", [up.body.attachment.id]);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
  });

  it("deleting a message deletes its attachments' objects (the hook #19 calls)", async () => {
    const { a, b, group } = await groupOfTwo();
    const up = await upload(a, group.channel_id, image(300, 200, "jpeg"), "gone.jpg", "image/jpeg");
    const sent = await send(a, group.channel_id, "to-delete", [up.body.attachment.id]);
    expect(await objectsOf(group.channel_id)).toHaveLength(2); // the image and its preview
    const stub = env.CHANNEL_ROOM.getByName(group.channel_id);
    await runInDurableObject(stub, (room: ChannelRoom) => room.hooks.deleted(sent.body.seq));
    expect(await objectsOf(group.channel_id)).toEqual([]);
    expect((await download(b, group.channel_id, up.body.attachment.id)).status).toBe(404);
  });

  it("an upload never sent is swept with its objects", async () => {
    const { a, group } = await groupOfTwo();
    const up = await upload(a, group.channel_id, image(30, 30, "png"), "draft.png", "image/png");
    expect(await objectsOf(group.channel_id)).toHaveLength(2);
    const stub = env.CHANNEL_ROOM.getByName(group.channel_id);
    await runInDurableObject(stub, (_room, state) => {
      state.storage.sql.exec("UPDATE attachments SET created_at = created_at - ?", UNSENT_TTL_MS + 1);
    });
    await runDurableObjectAlarm(stub);
    expect(await objectsOf(group.channel_id)).toEqual([]);
    expect((await download(a, group.channel_id, up.body.attachment.id)).status).toBe(404);
  });

  it("nobody uploads where they may not post: a stranger, a blocked 1:1 chat", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const group = await createGroup(a, [b]);
    const stranger = await signup("s");
    expect((await upload(stranger, group.channel_id, image(5, 5, "png"), "x.png", "image/png")).status).toBe(
      403,
    );
    expect(await objectsOf(group.channel_id)).toEqual([]);
  });
});
