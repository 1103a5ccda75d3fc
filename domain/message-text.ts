/**
 * @module domain/message-text
 * The rules for a message's text: 1 to 100,000 Unicode code points, not blank. Code points,
 * not UTF-16 units or bytes, so an emoji outside the BMP counts as one.
 */
import { ChatError } from "../protocol/errors.ts";
import { MAX_MESSAGE_CODE_POINTS } from "../protocol/limits.ts";

/** Counts code points without allocating an array (a lone surrogate counts as one). */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * Throws `message_empty` or `message_too_long`; returns the text unchanged otherwise. A message
 * with attachments (`hasAttachments`) may have an empty text: a photo needs no caption.
 */
export function checkMessageText(text: string, hasAttachments = false): string {
  if (text.trim().length === 0 && !hasAttachments)
    throw new ChatError("message_empty", "a message needs some text");
  const n = codePointLength(text);
  if (n > MAX_MESSAGE_CODE_POINTS) {
    throw new ChatError(
      "message_too_long",
      `a message is at most ${MAX_MESSAGE_CODE_POINTS} characters; this one has ${n}`,
    );
  }
  return text;
}

/** The first `max` code points at most, for previews in lists and notifications. */
export function preview(text: string, max = 100): string {
  let out = "";
  let n = 0;
  for (const ch of text) {
    if (n++ === max) return out;
    out += ch;
  }
  return out;
}
