/**
 * @module durable-objects/rpc
 * Typed errors across Durable Object RPC. The runtime keeps an error's message but not its
 * class, so RPC methods run their body through `rpcCall`, which encodes a ChatError's code
 * in the message; the Worker decodes it in `app.onError` (protocol/errors.ts).
 */
import { ChatError, encodeForRpc } from "../protocol/errors.ts";

export async function rpcCall<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ChatError) throw encodeForRpc(err);
    throw err;
  }
}
