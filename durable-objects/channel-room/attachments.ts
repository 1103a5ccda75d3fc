/**
 * @module durable-objects/channel-room/attachments
 * A channel's side of files and images (docs/architecture.md "Attachments"): the Worker streams
 * an upload's bytes to R2 and checks them, and this module keeps the record that says whose they
 * are and who may read them. An upload is recorded before its bytes move (`begin`), marked
 * `ready` once they passed their checks, and claimed by the send that names it (`claim`, then
 * `attach` in the message's own commit). Uploads that never become a message are swept with
 * their objects (`sweep`, from the channel's alarm); a message's attachments go with the message
 * (`deleteForMessage`, the hook issue #19's deletes call).
 *
 * Reading is authorised here on every request: a member may read an attachment of a message it
 * can read (after its join point), and an uploader its own upload before it is sent. A link in a
 * message is not a capability.
 */
import { ChatError } from "../../protocol/errors.ts";
import type { WireAttachment } from "../../protocol/frames.ts";
import {
  type AttachmentRow,
  type AttachmentStore,
  attachmentKey,
  previewKey,
  type ReadyAttachment,
  wireAttachment,
} from "../../storage/channel/attachments.ts";
import type { MemberRow } from "../../storage/channel/store.ts";

/** An upload still streaming after this long died with its Worker: its record and bytes go. */
export const UPLOADING_TTL_MS = 60 * 60_000;
/** An upload never sent after this long is dropped with its bytes (a send names it within moments). */
export const UNSENT_TTL_MS = 24 * 60 * 60_000;
/** Records swept per run (each run deletes their objects in one R2 call). */
const SWEEP_BATCH = 100;

/** What the Worker needs to serve an attachment's bytes. */
export interface AttachmentGrant {
  key: string;
  name: string;
  type: string;
  kind: "image" | "file";
  size: number;
}

export interface AttachmentsDeps {
  store: AttachmentStore;
  bucket: R2Bucket;
  channelId(): string;
}

export class Attachments {
  readonly #d: AttachmentsDeps;

  constructor(deps: AttachmentsDeps) {
    this.#d = deps;
  }

  /** Records an upload about to stream (its id chosen by the Worker). */
  begin(uploaderId: string, id: string, name: string, type: string, size: number, now: number): void {
    this.#d.store.begin(id, uploaderId, name, type, size, now);
  }

  /** The upload's bytes are stored and checked: it may now be sent. */
  ready(uploaderId: string, a: ReadyAttachment): WireAttachment {
    const row = this.#own(uploaderId, a.id);
    if (row.state !== "uploading") throw new ChatError("bad_request", "this upload is already complete");
    this.#d.store.ready(a);
    return wireAttachment(this.#d.store.get(a.id)!);
  }

  /** The upload failed or was refused: its record and whatever reached R2 go. */
  async abort(uploaderId: string, id: string): Promise<void> {
    const row = this.#d.store.get(id);
    if (!row || row.uploaderId !== uploaderId || row.seq !== null) return;
    await this.#drop([row]);
  }

  /**
   * The attachments a send names, in its order: each a ready upload of the sender's, not sent
   * yet. Checked before the message is stored; `attach` records them in the same commit.
   */
  claim(senderId: string, ids: readonly string[]): WireAttachment[] {
    return ids.map((id) => {
      const row = this.#d.store.get(id);
      if (!row || row.uploaderId !== senderId || row.state !== "ready" || row.seq !== null)
        throw new ChatError("bad_request", `no upload ${id} of yours waits to be sent here`);
      return wireAttachment(row);
    });
  }

  attach(ids: readonly string[], seq: number): void {
    this.#d.store.attach(ids, seq);
  }

  /**
   * Who may read what: an attachment of a message after the member's join point, or the
   * member's own upload before it is sent. Anything else answers as if it did not exist.
   */
  grant(member: MemberRow, id: string, preview: boolean): AttachmentGrant {
    const row = this.#d.store.get(id);
    const readable =
      row !== null &&
      row.state === "ready" &&
      (row.seq === null ? row.uploaderId === member.userId : row.seq > member.joinedSeq);
    if (!readable || (preview && row.previewWidth === null))
      throw new ChatError("not_found", "no such attachment in this channel");
    const channelId = this.#d.channelId();
    return preview
      ? { key: previewKey(channelId, id), name: row.name, type: previewType(row), kind: "image", size: -1 }
      : { key: attachmentKey(channelId, id), name: row.name, type: row.type, kind: row.kind, size: row.size };
  }

  /**
   * The hook for a deleted message (issue #19 calls it with the message's seq): its attachments'
   * records go at once (from then on they answer `not_found`), their objects right after.
   */
  async deleteForMessage(seq: number): Promise<void> {
    const rows = this.#d.store.ofMessage(seq);
    if (rows.length > 0) await this.#drop(rows);
  }

  /**
   * Drops uploads that never became a message. Returns when the next one falls due (null: none
   * waiting), for the alarm.
   */
  async sweep(now: number): Promise<number | null> {
    const stale = this.#d.store.stale(now - UPLOADING_TTL_MS, now - UNSENT_TTL_MS, SWEEP_BATCH);
    if (stale.length > 0) await this.#drop(stale);
    if (stale.length === SWEEP_BATCH) return now;
    const oldest = this.#d.store.oldestUnsent();
    return oldest === null ? null : oldest + UPLOADING_TTL_MS;
  }

  /** Records first (so nothing reads them after this turn), then their objects. */
  async #drop(rows: AttachmentRow[]): Promise<void> {
    const channelId = this.#d.channelId();
    this.#d.store.delete(rows.map((r) => r.id));
    const keys = rows.flatMap((r) => [attachmentKey(channelId, r.id), previewKey(channelId, r.id)]);
    await this.#d.bucket.delete(keys);
  }

  #own(uploaderId: string, id: string): AttachmentRow {
    const row = this.#d.store.get(id);
    if (!row || row.uploaderId !== uploaderId) throw new ChatError("not_found", "no such upload");
    return row;
  }
}

/** A preview is a JPEG for a JPEG, and WebP (which keeps transparency) for the other image types. */
export function previewType(row: Pick<AttachmentRow, "type">): string {
  return row.type === "image/jpeg" ? "image/jpeg" : "image/webp";
}
