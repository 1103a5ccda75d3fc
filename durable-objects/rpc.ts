/**
 * @module durable-objects/rpc
 * Typed outcomes across Durable Object RPC. An expected refusal (not a member, group full…)
 * is a value, not an exception: the runtime would log a thrown error as uncaught, and it
 * keeps an error's message but not its class. So RPC methods return `RpcResult<T>` built by
 * `rpcCall`, and callers `unwrap` it back into the value or the same ChatError.
 */
import { ChatError, type ErrorCode } from "../protocol/errors.ts";

export type RpcResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: ErrorCode; message: string; retryAfterMs?: number };

/** Runs an RPC body; a ChatError becomes a failed result, anything else still throws. */
export async function rpcCall<T>(fn: () => T | Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof ChatError) {
      const failed: RpcResult<T> = { ok: false, code: err.code, message: err.message };
      if (err.retryAfterMs !== undefined) failed.retryAfterMs = err.retryAfterMs;
      return failed;
    }
    throw err;
  }
}

/** The value of a result, or its error thrown again as the same ChatError. */
export async function unwrap<T>(result: Promise<RpcResult<T>> | RpcResult<T>): Promise<T> {
  const r = await result;
  if (r.ok) return r.value;
  throw new ChatError(
    r.code,
    r.message,
    r.retryAfterMs === undefined ? undefined : { retryAfterMs: r.retryAfterMs },
  );
}
