/**
 * @module storage/channel/attachments
 * The `attachments` table of a ChannelRoom's SQLite (./schema.ts): who uploaded what to this
 * channel, its checked facts, and which message carries it. The bytes live in R2 under keys
 * named here; docs/architecture.md ("Attachments") draws the whole path.
 */
import type { WireAttachment } from "../../protocol/frames.ts";

/** The R2 key of an attachment's bytes: under its channel, so a channel's files list together. */
export function attachmentKey(channelId: string, id: string): string {
  return `attachments/${channelId}/${id}`;
}

/** The R2 key of an image's preview (a bounded JPEG or WebP made when it was stored). */
export function previewKey(channelId: string, id: string): string {
  return `attachments/${channelId}/${id}.preview`;
}

export interface AttachmentRow {
  id: string;
  uploaderId: string;
  state: "uploading" | "ready";
  kind: "image" | "file";
  name: string;
  type: string;
  size: number;
  width: number | null;
  height: number | null;
  previewWidth: number | null;
  previewHeight: number | null;
  crc32: number | null;
  createdAt: number;
  seq: number | null;
}

/** What an upload that passed its checks records. */
export type ReadyAttachment = Omit<AttachmentRow, "uploaderId" | "state" | "createdAt" | "seq">;

const COLS =
  "id, uploader_id AS uploaderId, state, kind, name, type, size, width, height, preview_width AS previewWidth, preview_height AS previewHeight, crc32, created_at AS createdAt, seq";

type Row = Record<string, SqlStorageValue>;

export class AttachmentStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  get(id: string): AttachmentRow | null {
    const row = this.#sql.exec<Row>(`SELECT ${COLS} FROM attachments WHERE id = ?`, id).toArray()[0];
    return (row as unknown as AttachmentRow | undefined) ?? null;
  }

  /** An upload starts: its bytes are on their way to R2 (declared name, type and size). */
  begin(id: string, uploaderId: string, name: string, type: string, size: number, now: number): void {
    this.#sql.exec(
      `INSERT INTO attachments (id, uploader_id, state, kind, name, type, size, created_at)
       VALUES (?, ?, 'uploading', 'file', ?, ?, ?, ?)`,
      id,
      uploaderId,
      name,
      type,
      size,
      now,
    );
  }

  /** The upload's bytes are in R2 and passed every check. */
  ready(a: ReadyAttachment): void {
    this.#sql.exec(
      `UPDATE attachments SET state = 'ready', kind = ?, name = ?, type = ?, size = ?, width = ?, height = ?,
         preview_width = ?, preview_height = ?, crc32 = ? WHERE id = ? AND state = 'uploading'`,
      a.kind,
      a.name,
      a.type,
      a.size,
      a.width,
      a.height,
      a.previewWidth,
      a.previewHeight,
      a.crc32,
      a.id,
    );
  }

  /** The message at `seq` carries these attachments. */
  attach(ids: readonly string[], seq: number): void {
    for (const id of ids) this.#sql.exec("UPDATE attachments SET seq = ? WHERE id = ?", seq, id);
  }

  /** The attachments a message carries. */
  ofMessage(seq: number): AttachmentRow[] {
    return this.#sql
      .exec<Row>(`SELECT ${COLS} FROM attachments WHERE seq = ?`, seq)
      .toArray() as unknown as AttachmentRow[];
  }

  /** Uploads never sent: still uploading since before `uploadingBefore`, or ready and unsent since before `readyBefore`. */
  stale(uploadingBefore: number, readyBefore: number, limit: number): AttachmentRow[] {
    return this.#sql
      .exec<Row>(
        `SELECT ${COLS} FROM attachments WHERE seq IS NULL
           AND ((state = 'uploading' AND created_at < ?) OR (state = 'ready' AND created_at < ?)) LIMIT ?`,
        uploadingBefore,
        readyBefore,
        limit,
      )
      .toArray() as unknown as AttachmentRow[];
  }

  /** The creation time of the oldest unsent upload (null: none). */
  oldestUnsent(): number | null {
    const row = this.#sql.exec<Row>("SELECT MIN(created_at) AS at FROM attachments WHERE seq IS NULL").one();
    return (row.at as number | null) ?? null;
  }

  delete(ids: readonly string[]): void {
    for (const id of ids) this.#sql.exec("DELETE FROM attachments WHERE id = ?", id);
  }

  /** Every attachment of messages in `(afterSeq, throughSeq]`, ascending (the export). */
  inRange(afterSeq: number, throughSeq: number, limit: number): AttachmentRow[] {
    return this.#sql
      .exec<Row>(
        `SELECT ${COLS} FROM attachments WHERE seq > ? AND seq <= ? ORDER BY seq, id LIMIT ?`,
        afterSeq,
        throughSeq,
        limit,
      )
      .toArray() as unknown as AttachmentRow[];
  }
}

/** An attachment as messages carry it. */
export function wireAttachment(a: AttachmentRow): WireAttachment {
  const w: WireAttachment = { id: a.id, kind: a.kind, name: a.name, type: a.type, size: a.size };
  if (a.width !== null && a.height !== null) {
    w.width = a.width;
    w.height = a.height;
  }
  if (a.previewWidth !== null && a.previewHeight !== null)
    w.preview = { width: a.previewWidth, height: a.previewHeight };
  return w;
}
