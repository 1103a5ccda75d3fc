/**
 * @module domain/attachments
 * The rules for files and images sent with messages: what an upload's name may be, which type
 * it is stored and served as (the bytes decide over the client's word), and how a message with
 * attachments reads in a preview (the conversation list, a push notification). Sizes and counts
 * are protocol limits (protocol/limits.ts); docs/protocol.md §8.10 states the rules for clients.
 */
import { ChatError } from "../protocol/errors.ts";
import type { WireAttachment } from "../protocol/frames.ts";
import { MAX_ATTACHMENT_NAME } from "../protocol/limits.ts";
import { isImageType, sniffType } from "./file-type.ts";
import { preview } from "./message-text.ts";

/** An upload's name, cleaned: no control characters or path separators; 1-255 units once trimmed. */
export function attachmentName(raw: string | undefined): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const name = (raw ?? "").replace(/[\u0000-\u001f\u007f/\\]/g, "_").trim();
  if (name.length === 0) throw new ChatError("validation_failed", "an attachment needs a name (?name=)");
  if (name.length > MAX_ATTACHMENT_NAME)
    throw new ChatError(
      "validation_failed",
      `an attachment's name is at most ${MAX_ATTACHMENT_NAME} characters`,
    );
  return name;
}

/** A declared media type, lowercased and without parameters; `application/octet-stream` when absent. */
export function declaredType(header: string | undefined): string {
  const type = (header ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "") return "application/octet-stream";
  if (!/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type))
    throw new ChatError("validation_failed", `"${type}" is not a media type`);
  return type;
}

/**
 * What an upload is, from its declared type and its first bytes: an image only when the bytes
 * are one of the shown image types and the client did not claim another type; otherwise a file,
 * stored as the sniffed type when the bytes are recognised, else as declared. A declaration the
 * bytes contradict (a "PNG" that is a JPEG, a "PDF" that is a PNG) is refused, as the client is
 * mistaken or lying about what it sends.
 */
export function classify(declared: string, head: Uint8Array): { kind: "image" | "file"; type: string } {
  const sniffed = sniffType(head);
  const vague = declared === "application/octet-stream";
  if (sniffed !== null && !vague && sniffed !== declared)
    throw new ChatError("attachment_refused", `declared as ${declared}, but the bytes are ${sniffed}`);
  if (sniffed === null && isImageType(declared))
    throw new ChatError("attachment_refused", `declared as ${declared}, but the bytes are not one`);
  const type = sniffed ?? declared;
  return { kind: isImageType(type) ? "image" : "file", type };
}

/** How an attachment reads where there is room for a few words: "Photo", or the file's name. */
export function attachmentLabel(a: Pick<WireAttachment, "kind" | "name">): string {
  return a.kind === "image" ? "Photo" : a.name;
}

/**
 * A message's preview (the conversation list, push notifications): the first 100 code points
 * of its text; for a message that is only attachments, "Photo" or the file's name (with how many
 * more, "Photo (+2)"); for attachments with a caption, "Photo: caption".
 */
export function messagePreview(text: string, attachments: readonly WireAttachment[] | undefined): string {
  const first = attachments?.[0];
  if (!first) return preview(text);
  const more = attachments.length > 1 ? ` (+${attachments.length - 1})` : "";
  const label = `${attachmentLabel(first)}${more}`;
  return preview(text.trim() === "" ? label : `${label}: ${text}`);
}
