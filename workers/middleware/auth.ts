/**
 * @module workers/middleware/auth
 * Bearer access tokens: the signature and expiry are checked, then whether the device is still
 * signed in, so a signed-out or revoked device is refused at once even while its token has not
 * expired. That last check asks the user's Durable Object, not D1: every sign-out reaches the
 * user object first (workers/sessions.ts), and one D1 database could not answer every request
 * of 50 million daily users (docs/capacity.md). A request refused as too fast a moment ago is
 * refused again before anything is asked (workers/refusal-memo.ts).
 */
import { createMiddleware } from "hono/factory";
import { verifyAccessToken } from "../../domain/tokens.ts";
import { unwrap } from "../../durable-objects/rpc.ts";
import { ChatError } from "../../protocol/errors.ts";
import { findDevice } from "../../storage/d1/users.ts";
import { type AppEnv, db, inboxStub } from "../context.ts";
import { refusedAgain } from "../refusal-memo.ts";

/**
 * The token alone (signature, expiry, refusal memo). Only for a route whose handler has the
 * user object refuse a signed-out device in the call it makes anyway (`POST /v1/connect`).
 */
export const requireToken = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new ChatError("unauthenticated", "send an access token: Authorization: Bearer <token>");
  const claims = await verifyAccessToken(c.env.AUTH_SECRET, m[1]!);
  // Refused a moment ago and still before its retry time: refused again, asking nobody.
  const again = refusedAgain(claims.did, c.req.method, c.req.path, Date.now());
  if (again) throw again;
  c.set("userId", claims.sub);
  c.set("deviceId", claims.did);
  await next();
});

/**
 * The token, and the device's row in D1 live: only for the few routes that sign out the
 * caller's own device (logout, revoking this device, signing out everywhere, deleting the
 * account). The user object refuses a device from the first step of its sign-out, D1 from the
 * last (workers/sessions.ts); after a sign-out that failed part-way only D1 tells it from a
 * finished one, so that a retry, refused by the user object, is let through to finish the job.
 */
export const requireLiveDevice = createMiddleware<AppEnv>(async (c, next) => {
  await requireToken(c, async () => {
    const device = await findDevice(db(c), c.get("userId"), c.get("deviceId"));
    if (!device || device.revokedAt !== null)
      throw new ChatError("unauthenticated", "this device is signed out");
    await next();
  });
});

/** The token, and the device still signed in (asked of the user's object). */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  await requireToken(c, async () => {
    await unwrap(inboxStub(c.env, c.get("userId")).admitRequest(c.get("deviceId")));
    await next();
  });
});
