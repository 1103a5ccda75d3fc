/**
 * @module workers/attachments/upload
 * Stores an upload in R2 as its bytes arrive, never holding the whole of it: the request body
 * flows through an inspector into R2's put. On the way the inspector counts the bytes (no more
 * than declared), computes their CRC-32 (the export's ZIP entries carry it), keeps the first
 * `HEAD_BYTES` (the type is sniffed from them, and an image's size and orientation read from its
 * header) and stops the stream as soon as the bytes contradict the declared type. An image then
 * gets its preview (workers/attachments/preview.ts), which reads the stored image back: decoding
 * needs all of it, so only images within IMAGE_MAX_PIXELS are decoded; larger ones stay files.
 * See docs/architecture.md "Attachments".
 */
import { crc32 } from "node:zlib";
import { classify } from "../../domain/attachments.ts";
import { displaySize, type ImageInfo, isImageType, readImageInfo } from "../../domain/file-type.ts";
import { ChatError } from "../../protocol/errors.ts";
import { previewKey, type ReadyAttachment } from "../../storage/channel/attachments.ts";
import { IMAGE_MAX_PIXELS, makePreview } from "./preview.ts";

/** What is kept of the start of an upload: enough for any header, and a JPEG's EXIF before its frame. */
const HEAD_BYTES = 512 * 1024;
/** The type is decided once this many bytes arrived (or the upload ended). */
const SNIFF_BYTES = 16;

export interface UploadInput {
  bucket: R2Bucket;
  channelId: string;
  id: string;
  key: string;
  name: string;
  declared: string;
  size: number;
  body: ReadableStream<Uint8Array>;
}

/** Watches the bytes go by: count, CRC-32, the head, and the type as soon as it can be told. */
class Inspector {
  readonly head = new Uint8Array(HEAD_BYTES);
  headLength = 0;
  bytes = 0;
  crc = 0;
  kind: { kind: "image" | "file"; type: string } | null = null;
  /** Why the stream was stopped (the put then fails with a stream error of its own). */
  failure: ChatError | null = null;

  constructor(
    readonly declared: string,
    readonly size: number,
  ) {}

  stream(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: (chunk, controller) => {
        try {
          this.#see(chunk);
          controller.enqueue(chunk);
        } catch (err) {
          this.failure = err instanceof ChatError ? err : new ChatError("internal", String(err));
          controller.error(this.failure);
        }
      },
      flush: (controller) => {
        try {
          this.#decide();
        } catch (err) {
          this.failure = err as ChatError;
          controller.error(err);
        }
      },
    });
  }

  #see(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    if (this.bytes > this.size)
      throw new ChatError("validation_failed", "the body is longer than its Content-Length");
    this.crc = crc32(chunk, this.crc);
    if (this.headLength < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.headLength);
      this.head.set(part, this.headLength);
      this.headLength += part.byteLength;
    }
    if (this.kind === null && this.headLength >= SNIFF_BYTES) this.#decide();
  }

  #decide(): void {
    this.kind ??= classify(this.declared, this.head.subarray(0, this.headLength));
  }
}

/**
 * Streams the upload to R2 and checks it; returns what the channel records. On any refusal or
 * failure, whatever reached R2 is the caller's to delete (the channel's `abortUpload`).
 */
export async function storeUpload(u: UploadInput): Promise<ReadyAttachment> {
  const inspector = new Inspector(u.declared, u.size);
  try {
    // FixedLengthStream gives R2 the length a streamed put needs, and fails a body that ends early.
    await u.bucket.put(
      u.key,
      u.body.pipeThrough(inspector.stream()).pipeThrough(new FixedLengthStream(u.size)),
      { httpMetadata: { contentType: "application/octet-stream" } },
    );
  } catch (err) {
    if (inspector.failure) throw inspector.failure;
    if (inspector.bytes < u.size)
      throw new ChatError("validation_failed", "the body ended before its Content-Length", { cause: err });
    throw err;
  }
  const { kind, type } =
    inspector.kind ?? classify(u.declared, inspector.head.subarray(0, inspector.headLength));
  const base: ReadyAttachment = {
    id: u.id,
    kind: "file",
    name: u.name,
    type,
    size: u.size,
    width: null,
    height: null,
    previewWidth: null,
    previewHeight: null,
    crc32: inspector.crc,
  };
  if (kind !== "image" || !isImageType(type)) return base;
  const info = readImageInfo(type, inspector.head.subarray(0, inspector.headLength));
  if (!info) throw new ChatError("attachment_refused", `this ${type} has no readable size`);
  // Too many pixels to decode here: kept, and shown, as a file.
  if (info.width * info.height > IMAGE_MAX_PIXELS) return base;
  const preview = await previewOf(u, type, info);
  const shown = displaySize(info);
  return {
    ...base,
    kind: "image",
    width: shown.width,
    height: shown.height,
    previewWidth: preview.width,
    previewHeight: preview.height,
  };
}

/** Reads the stored image back, decodes it and stores its preview. */
async function previewOf(
  u: UploadInput,
  type: string,
  info: ImageInfo,
): Promise<{ width: number; height: number }> {
  const object = await u.bucket.get(u.key);
  if (!object) throw new Error(`${u.key} vanished before its preview was made`);
  let preview: ReturnType<typeof makePreview>;
  try {
    preview = makePreview(new Uint8Array(await object.arrayBuffer()), type, info);
  } catch (err) {
    throw new ChatError("attachment_refused", `this ${type} could not be decoded`, { cause: err });
  }
  await u.bucket.put(previewKey(u.channelId, u.id), preview.bytes, {
    httpMetadata: { contentType: preview.type },
  });
  return { width: preview.width, height: preview.height };
}
