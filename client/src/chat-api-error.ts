/**
 * @module client/chat-api-error
 * The one error the SDK throws for a failed REST call: the server's envelope
 * (`{ error: { code, message, details } }`, docs/protocol.md §9.1) with the HTTP status, or
 * `code: "network"` and `status: 0` when no answer arrived at all.
 */
import type { ErrorCode } from "../../protocol/errors.ts";

/** `cancelled`: an upload the caller aborted (client/transfers.ts). */
export type ChatApiErrorCode = ErrorCode | "network" | "cancelled";

export class ChatApiError extends Error {
  /** Branch on this, never on `message`. */
  readonly code: ChatApiErrorCode;
  /** HTTP status; 0 for a network failure. */
  readonly status: number;
  /**
   * `validation_failed`: `{ path, message }[]`; `not_friends`: `{ user_ids }`;
   * `too_many_devices`: `{ max_devices, devices }` (the account's live devices).
   */
  readonly details: unknown;
  /** `rate_limited`: how long to wait before sending the same request again, in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ChatApiErrorCode,
    status: number,
    message: string,
    details?: unknown,
    cause?: unknown,
    retryAfterMs?: number,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ChatApiError";
    this.code = code;
    this.status = status;
    this.details = details;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Codes after which the same request can never succeed as it stands. */
export function isPermanent(code: string): boolean {
  return PERMANENT.has(code);
}

const PERMANENT = new Set([
  "message_empty",
  "message_too_long",
  "validation_failed",
  "bad_frame",
  "frame_too_large",
  "not_a_member",
  "not_found",
  "bad_request",
]);
