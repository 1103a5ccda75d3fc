/**
 * @module protocol/errors
 * Every error the product can report, as a closed set of codes. Domain code throws
 * `ChatError(code)`; each boundary maps it once: HTTP in `app.onError` (JSON envelope
 * `{ error: { code, message } }`), WebSockets as an `{ type: "error", code, message, ref }`
 * frame. A stack trace never reaches a client.
 */

/** Error code → HTTP status. The keys are the wire codes. */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  bad_frame: 400,
  unknown_frame_type: 400,
  frame_too_large: 413,
  attachment_too_large: 413,
  attachment_refused: 415,
  message_empty: 400,
  message_too_long: 400,
  unauthenticated: 401,
  token_expired: 401,
  invalid_credentials: 401,
  ticket_invalid: 401,
  ticket_used: 401,
  forbidden: 403,
  not_a_member: 403,
  not_friends: 403,
  blocked: 403,
  not_found: 404,
  handle_taken: 409,
  already_exists: 409,
  group_full: 409,
  too_many_devices: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The JSON body of every failed HTTP response. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; details?: unknown; retry_after_ms?: number };
}

/**
 * The one error type of the product. `message` is safe to show a client; put anything
 * private in `cause`, which is only logged.
 */
export class ChatError extends Error {
  override readonly name = "ChatError";
  readonly code: ErrorCode;
  readonly details: unknown;
  /** `rate_limited` only: when to try again, in ms (REST adds a `Retry-After` header). */
  readonly retryAfterMs: number | undefined;
  /** `rate_limited` only: which limit refused (the metric's label; never sent to clients). */
  readonly limit: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: unknown; retryAfterMs?: number; limit?: string },
  ) {
    super(message, { cause: options?.cause });
    this.code = code;
    this.details = options?.details;
    this.retryAfterMs = options?.retryAfterMs;
    this.limit = options?.limit;
  }

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }

  toEnvelope(): ErrorEnvelope {
    const error: ErrorEnvelope["error"] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    if (this.retryAfterMs !== undefined) error.retry_after_ms = this.retryAfterMs;
    return { error };
  }
}

/**
 * A refusal for going too fast: nothing was done, and the same request is accepted again after
 * `retryAfterMs` (docs/protocol.md §9.6). `what` names the limit in words, for people.
 */
export function rateLimited(what: string, retryAfterMs: number): ChatError {
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  const secs = ms < 1_000 ? "under a second" : `${Math.ceil(ms / 1_000)} s`;
  return new ChatError("rate_limited", `slow down: too many ${what}; try again in ${secs}`, {
    retryAfterMs: ms,
    limit: what,
  });
}
