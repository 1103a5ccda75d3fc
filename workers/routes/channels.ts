/**
 * @module workers/routes/channels
 * Conversations: open a 1:1 chat with a friend, my conversation list (from my UserInbox:
 * last message, head and unread counts), one channel's details, paged history, sending over
 * HTTP (for clients without a channel socket open) and moving my read marker.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { unwrap } from "../../durable-objects/rpc.ts";
import {
  ChannelIdSchema,
  DeleteBody,
  EditBody,
  HistoryQuery,
  MessageSeqParam,
  MuteBody,
  PostMessageBody,
  ReactBody,
  ReadBody,
  UserRefBody,
} from "../../protocol/api.ts";
import { ChatError } from "../../protocol/errors.ts";
import { dmChannelId } from "../../protocol/ids.ts";
import type { EntryRequest } from "../../protocol/rpc.ts";
import { canChat } from "../../storage/d1/friends.ts";
import { type AppContext, type AppEnv, channelStub, db, inboxStub } from "../context.ts";
import { requireAuth } from "../middleware/auth.ts";
import { limitPerUser } from "../middleware/limits.ts";
import { valid } from "../validate.ts";
import { attachments } from "./attachments.ts";
import { channelSearch } from "./search.ts";

export const channels = new Hono<AppEnv>();
channels.use(requireAuth);
// Attachments (upload, read) and search of one channel: docs/protocol.md §8.10, §8.11.
channels.route("/", attachments);
channels.route("/", channelSearch);

function channelId(c: AppContext): string {
  const id = v.safeParse(ChannelIdSchema, c.req.param("id"));
  if (!id.success) throw new ChatError("not_found", "no such channel");
  return id.output;
}

channels.get("/", async (c) => c.json({ channels: await inboxStub(c.env, c.get("userId")).listChannels() }));

/** Opens (or returns) the 1:1 channel with a friend. */
channels.post("/dm", limitPerUser("write"), valid("json", UserRefBody), async (c) => {
  const me = c.get("userId");
  const other = c.req.valid("json").user_id;
  if (other === me) throw new ChatError("bad_request", "a 1:1 chat needs another user");
  if (!(await canChat(db(c), me, other)))
    throw new ChatError("not_friends", "you can only chat with friends");
  const id = dmChannelId(me, other);
  const info = await unwrap(
    channelStub(c.env, id).create({
      channelId: id,
      kind: "dm",
      name: null,
      ownerId: null,
      memberIds: [me, other],
    }),
  );
  return c.json(info);
});

channels.get("/:id", async (c) =>
  c.json(await unwrap(channelStub(c.env, channelId(c)).info(c.get("userId")))),
);

channels.get("/:id/messages", valid("query", HistoryQuery), async (c) => {
  const q = c.req.valid("query");
  const modes = [q.before, q.after, q.around, q.around_id].filter((x) => x !== undefined).length;
  if (modes > 1) {
    throw new ChatError("validation_failed", "give at most one of before, after, around and around_id");
  }
  return c.json(await unwrap(channelStub(c.env, channelId(c)).history(c.get("userId"), q)));
});

channels.post("/:id/messages", valid("json", PostMessageBody), async (c) => {
  const body = c.req.valid("json");
  const ack = await unwrap(
    channelStub(c.env, channelId(c)).post(
      c.get("userId"),
      c.get("deviceId"),
      body.client_msg_id,
      body.text,
      body.attachments,
      body.reply_to,
    ),
  );
  return c.json(ack, 201);
});

function messageSeq(c: AppContext): number {
  const seq = v.safeParse(MessageSeqParam, c.req.param("seq"));
  if (!seq.success) throw new ChatError("validation_failed", "seq: not a message seq");
  return seq.output;
}

/** Writes an edit, a delete or a reaction of message `{seq}` (docs/protocol.md §6.10). */
async function writeEntry(c: AppContext, req: EntryRequest): Promise<Response> {
  const ack = await unwrap(channelStub(c.env, channelId(c)).write(c.get("userId"), c.get("deviceId"), req));
  return c.json(ack, 201);
}

channels.post("/:id/messages/:seq/edit", valid("json", EditBody), async (c) => {
  const body = c.req.valid("json");
  return writeEntry(c, {
    kind: "edit",
    client_msg_id: body.client_msg_id,
    target_seq: messageSeq(c),
    text: body.text,
  });
});

channels.post("/:id/messages/:seq/delete", valid("json", DeleteBody), async (c) =>
  writeEntry(c, {
    kind: "delete",
    client_msg_id: c.req.valid("json").client_msg_id,
    target_seq: messageSeq(c),
  }),
);

channels.post("/:id/messages/:seq/reactions", valid("json", ReactBody), async (c) => {
  const body = c.req.valid("json");
  return writeEntry(c, {
    kind: "reaction",
    client_msg_id: body.client_msg_id,
    target_seq: messageSeq(c),
    emoji: body.emoji,
  });
});

/** Every member's delivered and read markers: the sender's "read by 37 of 99". */
channels.get("/:id/receipts", async (c) =>
  c.json(await unwrap(channelStub(c.env, channelId(c)).receipts(c.get("userId")))),
);

/** No push notifications for this channel (my setting, kept by my user object). */
channels.put("/:id/mute", limitPerUser("write"), valid("json", MuteBody), async (c) => {
  const muted = c.req.valid("json").muted;
  if (!(await inboxStub(c.env, c.get("userId")).setMuted(channelId(c), muted))) {
    throw new ChatError("not_found", "no such channel in your list");
  }
  return c.json({ channel_id: channelId(c), muted });
});

channels.post("/:id/read", valid("json", ReadBody), async (c) =>
  c.json(await unwrap(channelStub(c.env, channelId(c)).markRead(c.get("userId"), c.req.valid("json").seq))),
);
