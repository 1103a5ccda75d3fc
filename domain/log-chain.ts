/**
 * @module domain/log-chain
 * The hash chain of a channel's log (docs/protocol.md §2.6): each entry's `hash` is
 * `SHA-256(hash of the entry before ‖ digest of this entry)`, and the digest is `SHA-256` of the
 * entry's canonical bytes. The chain links digests, not texts, so a later delete can drop an
 * entry's text and keep its digest: the chain stays checkable (docs/protocol.md §2.6,
 * "Deleting"). Every entry type is in the chain (messages, edits, deletes, reactions), each with
 * its canonical fields; the functions keep their first names (`message…`) and take any entry.
 * One definition, used by the channel that writes the chain, the SDK that checks it and
 * the audit script that rebuilds it; the SHA-256 implementation is passed in, so the server can
 * use the runtime's native one and a browser the synchronous one in domain/sha256.ts.
 */

/** SHA-256 of some bytes, synchronously: 32 bytes. */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/** The hash "before" seq 1: 32 zero bytes, in hex. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * The fields of an entry that its digest covers (its `channel_id` is passed beside it): a message
 * (no `type`; a reply adds `reply_to`), or an `edit`, `delete` or `reaction` of the message
 * `target_seq`.
 */
export interface MessageEntry {
  type?: "edit" | "delete" | "reaction";
  seq: number;
  id: string;
  sender_id: string;
  client_msg_id: string;
  text: string;
  ts: number;
  reply_to?: number;
  target_seq?: number;
  emoji?: string;
  /** Attachments' descriptions; a message without any has the eight fields only. */
  attachments?: readonly AttachmentFields[];
}

/** What the chain covers of an attachment: everything a client shows or checks of it. */
export interface AttachmentFields {
  id: string;
  kind: string;
  name: string;
  type: string;
  size: number;
  width?: number;
  height?: number;
}

/**
 * Field 9 of a message with attachments: a JSON array with one array per attachment,
 * `[id, kind, name, type, size, width, height]` (null for a file's width and height), written
 * with `JSON.stringify`, so its bytes do not depend on the order of an object's keys.
 */
export function attachmentsField(attachments: readonly AttachmentFields[]): string {
  return JSON.stringify(
    attachments.map((a) => [a.id, a.kind, a.name, a.type, a.size, a.width ?? null, a.height ?? null]),
  );
}

const encoder = new TextEncoder();

/**
 * The canonical bytes of an entry: for each field in this order, its UTF-8 byte length as a
 * 4-byte big-endian integer, then its UTF-8 bytes. Fields: the entry type (`"message"` for a
 * message), `channel_id`, `seq` as decimal digits, `id`, `sender_id`, `client_msg_id`, `ts` as
 * decimal digits, then the type's own (docs/protocol.md §2.6): a message's `text` (then, with
 * attachments, `attachmentsField`, and for a reply `reply_to`), an edit's `target_seq` and `text`, a delete's `target_seq`, a reaction's
 * `target_seq` and `emoji`. UTF-8 as the WHATWG encoder writes it: a lone surrogate becomes U+FFFD.
 */
export function messageBytes(channelId: string, e: MessageEntry): Uint8Array {
  const fields = [
    e.type ?? "message",
    channelId,
    String(e.seq),
    e.id,
    e.sender_id,
    e.client_msg_id,
    String(e.ts),
  ];
  switch (e.type) {
    case undefined:
      fields.push(e.text);
      // A message without attachments or a reply has exactly the bytes it had before either existed.
      if (e.attachments && e.attachments.length > 0) fields.push(attachmentsField(e.attachments));
      if (e.reply_to !== undefined) fields.push(String(e.reply_to));
      break;
    case "edit":
      fields.push(String(e.target_seq ?? 0), e.text);
      break;
    case "delete":
      fields.push(String(e.target_seq ?? 0));
      break;
    case "reaction":
      fields.push(String(e.target_seq ?? 0), e.emoji ?? "");
      break;
  }
  let max = 0;
  for (const f of fields) max += 4 + f.length * 3;
  const out = new Uint8Array(max);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of fields) {
    const { written } = encoder.encodeInto(f, out.subarray(at + 4));
    view.setUint32(at, written);
    at += 4 + written;
  }
  return out.subarray(0, at);
}

/** The digest of an entry: SHA-256 of its canonical bytes. */
export function messageDigest(hash: Sha256, channelId: string, e: MessageEntry): Uint8Array {
  return hash(messageBytes(channelId, e));
}

/**
 * The digest an entry links with: the one it carries when its text was removed (its message was
 * deleted; `digest`, with `text: ""`), else the digest of its canonical bytes. Null for an entry
 * that carries a `digest` and a text, or a `digest` that is not one: no such entry is genuine.
 */
export function linkDigest(
  hash: Sha256,
  channelId: string,
  e: MessageEntry & { digest?: string },
): Uint8Array | null {
  if (e.digest === undefined) return messageDigest(hash, channelId, e);
  if (e.text !== "" || !isChainHash(e.digest)) return null;
  return fromHex(e.digest);
}

/** The chain hash after an entry: SHA-256 of the hash before it (32 bytes) and its digest (32 bytes). */
export function chainLink(hash: Sha256, prevHex: string, digest: Uint8Array): string {
  const buf = new Uint8Array(64);
  buf.set(fromHex(prevHex), 0);
  buf.set(digest, 32);
  return toHex(hash(buf));
}

/** The chain hash of a message entry, given the hash of the entry before it. */
export function messageHash(hash: Sha256, channelId: string, prevHex: string, e: MessageEntry): string {
  return chainLink(hash, prevHex, messageDigest(hash, channelId, e));
}

/** True for 64 lowercase hex digits. */
export function isChainHash(text: unknown): text is string {
  return typeof text === "string" && /^[0-9a-f]{64}$/.test(text);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b];
  return s;
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
