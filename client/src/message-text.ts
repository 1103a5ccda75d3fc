/**
 * @module client/message-text
 * The server's text rules (docs/protocol.md §10), checked before a message is queued so that
 * one that can never be stored fails at once, offline too. The server checks again.
 */

/** Longest message, in Unicode code points (protocol/frames.ts MAX_MESSAGE_CODE_POINTS). */
export const MAX_MESSAGE_CODE_POINTS = 100_000;
/** Length of `last_message.preview` in a conversation summary, in code points. */
export const PREVIEW_CODE_POINTS = 100;

/** Why a text can never be sent, or null when it can. A lone surrogate counts as one code point. */
export function textProblem(
  text: string,
): { code: "message_empty" | "message_too_long"; message: string } | null {
  if (text.trim() === "") return { code: "message_empty", message: "a message cannot be empty" };
  let count = 0;
  for (const _ of text) count++;
  if (count > MAX_MESSAGE_CODE_POINTS) {
    return {
      code: "message_too_long",
      message: `a message is at most ${MAX_MESSAGE_CODE_POINTS} characters; this one has ${count}`,
    };
  }
  return null;
}

/** The first `n` code points of a text. */
export function firstCodePoints(text: string, n: number): string {
  let out = "";
  let count = 0;
  for (const ch of text) {
    if (count++ === n) break;
    out += ch;
  }
  return out;
}
