/**
 * @module protocol/limits
 * The protocol's size limits, with no dependencies, so the client SDK can share the server's
 * text rules (domain/message-text.ts) without bundling the frame schemas.
 */

/**
 * Largest inbound frame, in UTF-16 units. A 100,000-code-point message fits even when an
 * ASCII-only JSON encoder writes every astral character as two `\uXXXX` escapes (12 units).
 */
export const MAX_FRAME_CHARS = 1_250_000;
/** Longest message, in Unicode code points. */
export const MAX_MESSAGE_CODE_POINTS = 100_000;
/** Most messages in one page of a sync or resume, and the default when a client names none. */
export const MAX_PAGE_MESSAGES = 500;
export const DEFAULT_PAGE_MESSAGES = 200;
/** Pages also stop at about this many UTF-16 units of text (at most ~1.5 MB of UTF-8). */
export const MAX_PAGE_CHARS = 500_000;

/** Largest attachment, in bytes (25 MiB): images and files alike (docs/protocol.md §8.10). */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
/** Attachments one message may carry. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;
/** Longest attachment name, in UTF-16 units. */
export const MAX_ATTACHMENT_NAME = 255;
/** A preview fits within this many pixels on its longer side. */
export const PREVIEW_MAX_SIDE = 640;
