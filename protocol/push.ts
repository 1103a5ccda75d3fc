/**
 * @module protocol/push
 * The body of a push job on the `push` Queue: a reference to the newest message of a channel
 * for one user, and at most a 100-character preview, never the body (a Queue message is at
 * most 128 KB; a chat message can be ~400 KB). The consumer sends it to each of the user's
 * subscribed devices.
 */
import * as v from "valibot";

export const PushJobSchema = v.strictObject({
  v: v.literal(1),
  user_id: v.string(),
  channel_id: v.string(),
  /** The newest message the notification stands for. */
  seq: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  message_id: v.string(),
  sender_id: v.string(),
  /** Null when the user hides previews. */
  preview: v.nullable(v.pipe(v.string(), v.maxLength(200))),
  /** Channels with unread messages: the badge. */
  badge: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  /** Server time the job was made, for latency measurement. */
  queued_at: v.number(),
});

export type PushJob = v.InferOutput<typeof PushJobSchema>;

/** What the service worker receives, decrypted (RFC 8291 payload). */
export interface PushPayload {
  v: 1;
  type: "message";
  channel_id: string;
  seq: number;
  message_id: string;
  sender_id: string;
  preview: string | null;
  badge: number;
}

/**
 * The Web Push `Topic` of a channel's notifications (RFC 8030 §5.4): the push service keeps
 * only the newest per topic, so a burst collapses. At most 32 base64url characters.
 */
export async function pushTopic(channelId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(channelId)));
  let bin = "";
  for (const b of digest.slice(0, 24)) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
