/**
 * @module client/message-text
 * The server's text rules (domain/message-text.ts, docs/protocol.md §10), checked before a
 * message is queued so that one that can never be stored fails at once, offline too. The
 * server checks again.
 */
import { checkMessageText } from "../../domain/message-text.ts";
import { ChatError } from "../../protocol/errors.ts";

export { messagePreview } from "../../domain/attachments.ts";
export { codePointLength, preview } from "../../domain/message-text.ts";
export { MAX_MESSAGE_CODE_POINTS } from "../../protocol/limits.ts";

/** Why a text can never be sent, or null when it can. A lone surrogate counts as one code point. */
export function textProblem(
  text: string,
  hasAttachments = false,
): { code: "message_empty" | "message_too_long"; message: string } | null {
  try {
    checkMessageText(text, hasAttachments);
    return null;
  } catch (err) {
    if (err instanceof ChatError && (err.code === "message_empty" || err.code === "message_too_long")) {
      return { code: err.code, message: err.message };
    }
    throw err;
  }
}
