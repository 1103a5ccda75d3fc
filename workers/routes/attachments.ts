/**
 * @module workers/routes/attachments
 * Files and images of a channel (docs/protocol.md §8.10): upload one (streamed to R2, checked,
 * an image given its preview), and read one or its preview. Every read is authorised by the
 * channel, which knows who may see which message: an attachment's URL grants nothing by itself.
 * Mounted inside the channels router (routes/channels.ts), whose `requireAuth` covers it.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { attachmentName, declaredType } from "../../domain/attachments.ts";
import { unwrap } from "../../durable-objects/rpc.ts";
import { errorText, log } from "../../observability/log.ts";
import { ChannelIdSchema } from "../../protocol/api.ts";
import { ChatError } from "../../protocol/errors.ts";
import { isUlid, newId } from "../../protocol/ids.ts";
import { MAX_ATTACHMENT_BYTES } from "../../protocol/limits.ts";
import { storeUpload } from "../attachments/upload.ts";
import { type AppContext, type AppEnv, channelStub, inboxStub } from "../context.ts";
import { limitPerUser } from "../middleware/limits.ts";

export const attachments = new Hono<AppEnv>();

function channelId(c: AppContext): string {
  const id = v.safeParse(ChannelIdSchema, c.req.param("id"));
  if (!id.success) throw new ChatError("not_found", "no such channel");
  return id.output;
}

/** The request's declared size: a Content-Length within the limit (a streamed put needs it). */
function declaredSize(c: AppContext): number {
  const header = c.req.header("content-length");
  const size = header === undefined ? Number.NaN : Number(header);
  if (!Number.isSafeInteger(size) || size < 1)
    throw new ChatError("validation_failed", "an upload needs a Content-Length of at least 1 byte");
  if (size > MAX_ATTACHMENT_BYTES)
    throw new ChatError(
      "attachment_too_large",
      `an attachment is at most ${MAX_ATTACHMENT_BYTES} bytes; this one has ${size}`,
    );
  return size;
}

/** Upload: the body is the file; `?name=` its name; `Content-Type` what the client says it is. */
attachments.post("/:id/attachments", limitPerUser("upload"), async (c) => {
  const userId = c.get("userId");
  const id = channelId(c);
  const unknown = Object.keys(c.req.queries()).filter((k) => k !== "name");
  if (unknown.length > 0) throw new ChatError("validation_failed", `unknown parameter: ${unknown[0]}`);
  const size = declaredSize(c);
  const name = attachmentName(c.req.query("name"));
  const declared = declaredType(c.req.header("content-type"));
  const body = c.req.raw.body;
  if (!body) throw new ChatError("validation_failed", "an upload needs a body");
  await unwrap(inboxStub(c.env, userId).takeLimit("upload_bytes", size));
  const channel = channelStub(c.env, id);
  const attachmentId = newId();
  const { key } = await unwrap(channel.beginUpload(userId, attachmentId, name, declared, size));
  try {
    const ready = await storeUpload({
      bucket: c.env.ARCHIVE,
      channelId: id,
      id: attachmentId,
      key,
      name,
      declared,
      size,
      body,
    });
    const attachment = await unwrap(channel.completeUpload(userId, ready));
    return c.json({ channel_id: id, attachment }, 201);
  } catch (err) {
    // Refused, cancelled or failed: the record and whatever reached R2 go (the alarm's sweep
    // would find them within the hour otherwise).
    c.executionCtx.waitUntil(
      channel
        .abortUpload(userId, attachmentId)
        .catch((e) => log.warn("upload.abort_failed", { channel_id: id, error: errorText(e) })),
    );
    throw err;
  }
});

/** Reads an attachment (`/preview`: an image's preview), for a member who may see it. */
async function serve(c: AppContext, preview: boolean): Promise<Response> {
  const attachmentId = c.req.param("attachmentId") ?? "";
  if (!isUlid(attachmentId)) throw new ChatError("not_found", "no such attachment in this channel");
  const grant = await unwrap(
    channelStub(c.env, channelId(c)).attachment(c.get("userId"), attachmentId, preview),
  );
  const object = await c.env.ARCHIVE.get(grant.key, { onlyIf: c.req.raw.headers });
  if (!object) throw new ChatError("not_found", "no such attachment in this channel");
  const headers = new Headers({
    "content-type": grant.type,
    etag: object.httpEtag,
    // The bytes under an id never change; each request is still authorised (private: no shared cache).
    "cache-control": "private, max-age=31536000, immutable",
    "x-content-type-options": "nosniff",
    // Nothing served here runs: no script, no plugin, no form, whatever the bytes are.
    "content-security-policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    "content-disposition": `${grant.kind === "image" ? "inline" : "attachment"}; filename*=UTF-8''${encodeURIComponent(grant.name)}`,
  });
  if (!("body" in object)) return new Response(null, { status: 304, headers });
  headers.set("content-length", String(object.size));
  return new Response(object.body, { headers });
}

attachments.get("/:id/attachments/:attachmentId", (c) => serve(c, false));
attachments.get("/:id/attachments/:attachmentId/preview", (c) => serve(c, true));
