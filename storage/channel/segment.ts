/**
 * @module storage/channel/segment
 * The format of a sealed segment: one immutable R2 object per channel and seq range, holding a
 * contiguous run of the channel's log (docs/architecture.md "The archive").
 *
 * The object is gzip (the runtime's `CompressionStream`) of UTF-8 lines of JSON: a header, then
 * one entry per line in seq order:
 *
 *     {"format":"edge-chat.segment.v1","channel_id":"gr_…","first_seq":1,"last_seq":1000,
 *      "count":1000,"prev_hash":"00…","last_hash":"9f…","text_chars":48211,"min_ts":…,"max_ts":…}
 *     {"type":"message","seq":1,"id":"01J…","sender_id":"01J…","client_msg_id":"c-1","ts":…,"text":"hi","hash":"5e…","msg_count":1}
 *     {"type":"reaction","seq":2,…,"text":"","target_seq":1,"emoji":"👍","hash":"…","msg_count":1}
 *
 * Each entry keeps its chain hash, so a cold page is served without hashing anything; the
 * channel checks the whole object's SHA-256 (recorded in its SQLite) when it loads it, and the
 * audit script (scripts/audit-archive.mjs) recomputes every digest and link from the bytes.
 * `type` names the entry kind: `message`, `edit`, `delete` or `reaction` (docs/protocol.md §2.2),
 * each line with its own fields (`reply_to`, `target_seq`, `emoji`), and `msg_count` (absent in
 * segments sealed before it existed: then the seq). A deleted message's text, and its edits',
 * leave the object: the segment is rewritten with `"text":""` and the entry's `digest`
 * (durable-objects/channel-room/scrubber.ts), so the chain still checks.
 */
import type { WireAttachment, WireMessage } from "../../protocol/frames.ts";

export const SEGMENT_FORMAT = "edge-chat.segment.v1";

export interface SegmentHeader {
  format: typeof SEGMENT_FORMAT;
  channel_id: string;
  first_seq: number;
  last_seq: number;
  count: number;
  prev_hash: string;
  last_hash: string;
  text_chars: number;
  min_ts: number;
  max_ts: number;
}

/** A segment's stored entry: an entry without its `channel_id` (the header has it). */
interface StoredEntry {
  type: "message" | "edit" | "delete" | "reaction";
  seq: number;
  id: string;
  sender_id: string;
  client_msg_id: string;
  ts: number;
  text: string;
  hash: string;
  msg_count?: number;
  reply_to?: number;
  target_seq?: number;
  emoji?: string;
  digest?: string;
  /** Only on a message with attachments. */
  attachments?: WireAttachment[];
}

const ENTRY_TYPES = new Set(["message", "edit", "delete", "reaction"]);

/** Segments sort by key in seq order: `channels/<channel id>/<first>-<last>`, 12 digits each. */
export function segmentKey(channelId: string, firstSeq: number, lastSeq: number): string {
  return `${segmentPrefix(channelId)}${pad(firstSeq)}-${pad(lastSeq)}`;
}

export function segmentPrefix(channelId: string): string {
  return `channels/${channelId}/`;
}

/** The prefix of every key of a segment starting at `firstSeq`. */
export function segmentStartPrefix(channelId: string, firstSeq: number): string {
  return `${segmentPrefix(channelId)}${pad(firstSeq)}-`;
}

/** The seq range a key names, or null for a key that is not a segment's. */
export function parseSegmentKey(
  key: string,
): { channelId: string; firstSeq: number; lastSeq: number } | null {
  const m = /^channels\/([^/]+)\/(\d{12})-(\d{12})$/.exec(key);
  return m ? { channelId: m[1]!, firstSeq: Number(m[2]), lastSeq: Number(m[3]) } : null;
}

function pad(n: number): string {
  return String(n).padStart(12, "0");
}

/**
 * Builds a segment's object in slices: `add` takes a batch of entries and compresses it while
 * other events run (each `await` lets the object take its next event), `finish` returns the bytes.
 */
export class SegmentWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #bytes: Promise<ArrayBuffer>;
  readonly #encoder = new TextEncoder();

  constructor(header: SegmentHeader) {
    const gzip = new CompressionStream("gzip");
    this.#writer = gzip.writable.getWriter();
    // Read concurrently, so writes never wait on a full stream.
    this.#bytes = new Response(gzip.readable).arrayBuffer();
    void this.#writer.write(this.#encoder.encode(`${JSON.stringify(header)}\n`)).catch(() => {});
  }

  async add(entries: readonly WireMessage[]): Promise<void> {
    let lines = "";
    for (const m of entries) lines += `${JSON.stringify(storedEntry(m))}\n`;
    await this.#writer.write(this.#encoder.encode(lines));
  }

  async finish(): Promise<Uint8Array> {
    await this.#writer.close();
    return new Uint8Array(await this.#bytes);
  }
}

/** A segment that does not hold what its record says: altered, truncated or not ours. */
export class SegmentCorruptError extends Error {
  override readonly name = "SegmentCorruptError";
}

/** The header and entries of a segment's bytes, as messages of `channel_id`. */
export async function readSegment(
  bytes: Uint8Array,
): Promise<{ header: SegmentHeader; messages: WireMessage[] }> {
  let text: string;
  try {
    const plain = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    text = await new Response(plain).text();
  } catch (err) {
    throw new SegmentCorruptError(`not a gzip stream: ${String(err)}`);
  }
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let header: SegmentHeader;
  try {
    header = JSON.parse(lines[0] ?? "") as SegmentHeader;
  } catch {
    throw new SegmentCorruptError("no header line");
  }
  if (header.format !== SEGMENT_FORMAT)
    throw new SegmentCorruptError(`unknown format ${String(header.format)}`);
  const messages: WireMessage[] = [];
  for (let i = 1; i < lines.length; i++) {
    let e: StoredEntry;
    try {
      e = JSON.parse(lines[i]!) as StoredEntry;
    } catch {
      throw new SegmentCorruptError(`entry ${i} is not JSON`);
    }
    if (!ENTRY_TYPES.has(e.type) || e.seq !== header.first_seq + i - 1)
      throw new SegmentCorruptError(`entry ${i} is out of sequence`);
    messages.push(wireEntry(header.channel_id, e));
  }
  if (messages.length !== header.count || messages.at(-1)?.seq !== header.last_seq)
    throw new SegmentCorruptError("the entries do not cover the header's range");
  return { header, messages };
}

/** The line a log entry is stored as (optional fields only when set). */
function storedEntry(m: WireMessage): StoredEntry {
  const e: StoredEntry = {
    type: m.type ?? "message",
    seq: m.seq,
    id: m.id,
    sender_id: m.sender_id,
    client_msg_id: m.client_msg_id,
    ts: m.ts,
    text: m.text,
    hash: m.hash,
    msg_count: m.msg_count,
  };
  if (m.reply_to !== undefined) e.reply_to = m.reply_to;
  if (m.target_seq !== undefined) e.target_seq = m.target_seq;
  if (m.emoji !== undefined) e.emoji = m.emoji;
  if (m.digest !== undefined) e.digest = m.digest;
  if (m.attachments) e.attachments = m.attachments;
  return e;
}

/** A stored line as the log entry it is. */
function wireEntry(channelId: string, e: StoredEntry): WireMessage {
  const m: WireMessage = {
    channel_id: channelId,
    seq: e.seq,
    id: e.id,
    sender_id: e.sender_id,
    client_msg_id: e.client_msg_id,
    text: e.text,
    ts: e.ts,
    msg_count: e.msg_count ?? e.seq,
    hash: e.hash,
  };
  if (e.type !== "message") m.type = e.type;
  if (e.reply_to !== undefined) m.reply_to = e.reply_to;
  if (e.target_seq !== undefined) m.target_seq = e.target_seq;
  if (e.emoji !== undefined) m.emoji = e.emoji;
  if (e.digest !== undefined) m.digest = e.digest;
  if (e.attachments) m.attachments = e.attachments;
  return m;
}
