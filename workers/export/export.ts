/**
 * @module workers/export/export
 * "Download my data" (docs/protocol.md §8.12): one ZIP archive, streamed as it is read, of a
 * user's profile, devices, friends and conversations, and every message they sent (`mine`) or
 * every message of their conversations (`all`), each with its attachments' bytes. Messages come
 * from each channel in pages over hot and archived history alike (ChannelRoom.exportPage), and
 * attachments straight from R2; nothing is held beyond one page and the ZIP's directory.
 *
 * The archive's layout (documented in its README.txt and in docs/protocol.md §8.12):
 *
 *     export.json                               what the archive holds: scope, time, conversations
 *     README.txt                                this layout, in words
 *     account.json                              profile, devices, friends, blocked users
 *     channels/<channel id>/channel.json        the conversation: kind, name, members, your join point
 *     channels/<channel id>/messages-<from>-<to>.jsonl
 *                                               its messages with seq from..to (one JSON object per
 *                                               line, as the API returns them; `mine`: yours only)
 *     channels/<channel id>/attachments/<attachment id>/<name>
 */
import { unwrap } from "../../durable-objects/rpc.ts";
import { errorText, log } from "../../observability/log.ts";
import type { ChannelInfo } from "../../protocol/api.ts";
import type { ChannelSummary } from "../../protocol/frames.ts";
import type { ExportPage } from "../../protocol/rpc.ts";
import { openDb } from "../../storage/d1/db.ts";
import { listBlocks, listRelations } from "../../storage/d1/friends.ts";
import { findUserById, findUsersByIds, listDevices, toPublicUser } from "../../storage/d1/users.ts";
import { channelStub, inboxStub } from "../context.ts";
import { deviceInfo } from "../sessions.ts";
import { ZipWriter } from "./zip-writer.ts";

export const EXPORT_FORMAT = "edge-chat.export.v1";

export type ExportScope = "mine" | "all";

/** What `export.json` says, first in the archive (a reader shows progress from it). */
export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  scope: ExportScope;
  user_id: string;
  created_at: number;
  /** Every conversation in the archive, with the range of seqs it covers: `(joined_seq, head_seq]`. */
  channels: {
    channel_id: string;
    kind: "dm" | "group";
    name: string | null;
    joined_seq: number;
    head_seq: number;
  }[];
}

const README = `edge chat: your data
====================

export.json      What this archive holds: which messages (scope "mine": the ones you sent;
                 "all": every message of your conversations), when it was made, and each
                 conversation with the range of message numbers (seq) it covers.
account.json     Your profile, your devices (signed in or out), your friends and friend
                 requests, and the people you blocked.
channels/<id>/channel.json
                 A conversation: 1:1 or group, its name, its members, and your join point
                 (you see messages after it).
channels/<id>/messages-<from>-<to>.jsonl
                 Its messages numbered from..to, one JSON object per line, oldest first:
                 seq, id, sender_id, client_msg_id, text, ts (ms since 1970, UTC), hash (the
                 log's hash chain) and attachments. With scope "mine", only yours.
channels/<id>/attachments/<attachment id>/<name>
                 The files and photos of those messages, as they were sent.

Every message appears once. The format is described in the server's docs/protocol.md §8.12.
`;

/** The archive as a stream; it is written as the client reads it. */
export function exportArchive(
  env: Env,
  userId: string,
  deviceId: string,
  scope: ExportScope,
): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const out = writable.getWriter();
  const zip = new ZipWriter(out);
  const write = async () => {
    const encoder = new TextEncoder();
    const json = (value: unknown) => encoder.encode(`${JSON.stringify(value, null, 2)}\n`);
    const db = openDb(env.DB);
    const summaries: ChannelSummary[] = await inboxStub(env, userId).listChannels();
    const infos: ChannelInfo[] = [];
    const ranges: { joined: number; head: number }[] = [];
    for (const s of summaries) {
      const info = await channelStub(env, s.channel_id).info(userId);
      if (!info.ok) continue; // left meanwhile
      // A page past the head reads nothing: just the member's join point and the head.
      const first = await unwrap(
        channelStub(env, s.channel_id).exportPage(userId, Number.MAX_SAFE_INTEGER, true),
      );
      infos.push(info.value);
      ranges.push({ joined: first.joined_seq, head: first.head_seq });
    }
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      scope,
      user_id: userId,
      created_at: Date.now(),
      channels: infos.map((c, i) => ({
        channel_id: c.channel_id,
        kind: c.kind,
        name: c.name,
        joined_seq: ranges[i]!.joined,
        head_seq: ranges[i]!.head,
      })),
    };
    await zip.addBytes("export.json", json(manifest));
    await zip.addBytes("README.txt", encoder.encode(README));
    await zip.addBytes("account.json", json(await account(db, userId, deviceId)));
    for (const [i, info] of infos.entries()) {
      const id = info.channel_id;
      await zip.addBytes(`channels/${id}/channel.json`, json({ ...info, joined_seq: ranges[i]!.joined }));
      let after: number | null = ranges[i]!.joined;
      while (after !== null) {
        const page: ExportPage = await unwrap(
          channelStub(env, id).exportPage(userId, after, scope === "mine"),
        );
        const to = page.messages.at(-1)?.seq ?? page.next_after_seq ?? page.head_seq;
        if (page.messages.length > 0) {
          const lines = page.messages.map((m) => JSON.stringify(m)).join("\n");
          await zip.addBytes(
            `channels/${id}/messages-${after + 1}-${to}.jsonl`,
            encoder.encode(`${lines}\n`),
          );
        }
        for (const a of page.attachments) {
          const object = await env.ARCHIVE.get(a.key);
          if (!object || a.crc32 === null) continue; // deleted since the page was read
          await zip.addStream(
            `channels/${id}/attachments/${a.id}/${a.name}`,
            object.size,
            a.crc32,
            object.body,
          );
        }
        after = page.next_after_seq;
      }
    }
    await zip.finish();
    await out.close();
  };
  write().catch(async (err) => {
    log.warn("export.failed", { user_id: userId, error: errorText(err) });
    // The client sees a broken download (no end of central directory), never a short archive
    // that looks complete.
    await out.abort(err).catch(() => {});
  });
  return readable;
}

async function account(db: ReturnType<typeof openDb>, userId: string, deviceId: string) {
  const [me, devices, relations, blocked] = await Promise.all([
    findUserById(db, userId),
    listDevices(db, userId),
    listRelations(db, userId),
    listBlocks(db, userId),
  ]);
  const people = new Map(
    (await findUsersByIds(db, [...relations.map((r) => r.otherId), ...blocked.map((b) => b.blockedId)])).map(
      (u) => [u.id, toPublicUser(u)],
    ),
  );
  return {
    user: me && {
      ...toPublicUser(me),
      invisible: me.invisible,
      hide_previews: me.hidePreviews,
      created_at: me.createdAt,
    },
    devices: devices.map((d) => deviceInfo(d, deviceId)),
    friends: relations.map((r) => ({ user: people.get(r.otherId), state: r.state, since: r.updatedAt })),
    blocked: blocked.map((b) => ({ user: people.get(b.blockedId), since: b.createdAt })),
  };
}
