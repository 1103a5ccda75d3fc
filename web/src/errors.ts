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
  rate_limited: "Too many attempts. Try again in a few minutes.",
  not_friends: "You can only do that with friends.",
  blocked: "Blocked: messages can't be sent in this conversation.",
};

export function errorText(err: unknown): string {
  if (err instanceof ChatApiError) {
    if (err.code === "not_found" && /handle/.test(err.message)) return "No user has that handle.";
    return FRIENDLY[err.code] ?? err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
