/**
 * @module workers/refusal-memo
 * What a flood of REST requests costs once refused. Every authenticated request reads its
 * device's row from D1 (workers/middleware/auth.ts), then calls the object that keeps the
 * limit; a refused request paid both, and a flood of them took the CPU a quiet conversation
 * needed (issue #17). So each isolate remembers, for a short while, the refusals it answered:
 * the same request (device, method, path) before its retry time is refused again at once,
 * after the token's signature is checked and before D1 or any object. It changes no answer:
 * a token bucket refuses until its retry time, so the object would have refused it too; the
 * objects stay the authority, and the memo only spares them. (One difference: a device revoked
 * meanwhile gets this 429 instead of its 401 until the retry time ends.)
 */
import { ChatError } from "../protocol/errors.ts";

interface Refusal {
  until: number;
  message: string;
  limit: string | undefined;
}

const memo = new Map<string, Refusal>();
/** Refusals kept at most (expired ones are dropped first). */
const MAX_ENTRIES = 10_000;

function keyOf(deviceId: string, method: string, path: string): string {
  return `${deviceId} ${method} ${path}`;
}

/** Remembers a refusal of this request until its retry time. */
export function rememberRefusal(
  deviceId: string,
  method: string,
  path: string,
  err: ChatError,
  now: number,
): void {
  if (err.code !== "rate_limited" || err.retryAfterMs === undefined) return;
  if (memo.size >= MAX_ENTRIES) {
    for (const [k, r] of memo) if (r.until <= now) memo.delete(k);
    if (memo.size >= MAX_ENTRIES) memo.clear();
  }
  memo.set(keyOf(deviceId, method, path), {
    until: now + err.retryAfterMs,
    message: err.message,
    limit: err.limit,
  });
}

/** The refusal this request would get again, if its retry time has not come. */
export function refusedAgain(deviceId: string, method: string, path: string, now: number): ChatError | null {
  const key = keyOf(deviceId, method, path);
  const r = memo.get(key);
  if (!r) return null;
  if (r.until <= now) {
    memo.delete(key);
    return null;
  }
  return new ChatError("rate_limited", r.message, { retryAfterMs: r.until - now, limit: r.limit });
}
