/**
 * @module workers/middleware/limits
 * Per-user limits of the Worker's routes, kept in the user's own object (UserInbox.takeLimit):
 * exact, and one call to an object the user's requests wake anyway, with no D1 query. A
 * request over its limit is refused with `429 rate_limited`, `Retry-After` and
 * `retry_after_ms` (app.onError) before it does anything. See docs/architecture.md, "Flood
 * control", for which limit lives where.
 */
import { createMiddleware } from "hono/factory";
import type { UserLimit } from "../../domain/limits.ts";
import { unwrap } from "../../durable-objects/rpc.ts";
import { type AppEnv, inboxStub } from "../context.ts";

/** Counts the request against the signed-in user's `kind` limit (after `requireAuth`). */
export function limitPerUser(kind: UserLimit) {
  return createMiddleware<AppEnv>(async (c, next) => {
    await unwrap(inboxStub(c.env, c.get("userId")).takeLimit(kind));
    await next();
  });
}
