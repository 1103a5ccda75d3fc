/**
 * @module web/errors
 * One readable line for anything the SDK throws. The server's messages are written to be shown
 * (docs/protocol.md §9.1); a few codes get friendlier words.
 */
import { ChatApiError } from "../../client/src/index.ts";

const FRIENDLY: Record<string, string> = {
  network: "Can't reach the server. Check your connection.",
  invalid_credentials: "Wrong handle or password.",
  handle_taken: "That handle is taken.",

  not_friends: "You can only do that with friends.",
  blocked: "Blocked: messages can't be sent in this conversation.",
};

/**
 * Codes after which sending the same text again can never succeed: the text itself must change
 * (the SDK fails such a message at once, and so does the server).
 */
const NEEDS_EDIT = new Set([
  "message_empty",
  "message_too_long",
  "validation_failed",
  "bad_frame",
  "frame_too_large",
]);

/** Whether a Retry could get a failed message through (a membership may change; its text will not). */
export function retryCanFix(code: string | undefined): boolean {
  return code === undefined || !NEEDS_EDIT.has(code);
}

/** "Slow down", and how long for: the server says when the same request goes through again. */
export function slowDownText(retryAfterMs: number | undefined, what = "Try again"): string {
  const s = Math.max(1, Math.ceil((retryAfterMs ?? 1_000) / 1_000));
  return `Slow down. ${what} in ${s < 60 ? `${s} s` : `${Math.ceil(s / 60)} min`}.`;
}

export function errorText(err: unknown): string {
  if (err instanceof ChatApiError) {
    if (err.code === "rate_limited") return slowDownText(err.retryAfterMs);
    if (err.code === "not_found" && /handle/.test(err.message)) return "No user has that handle.";
    return FRIENDLY[err.code] ?? err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
