/**
 * @module workers/middleware/auth
 * Bearer access tokens: the signature and expiry are checked, then the device row, so a
 * signed-out or revoked device is refused at once even while its token has not expired. A
 * request refused as too fast a moment ago is refused again before the row is read
 * (workers/refusal-memo.ts).
 */
import { createMiddleware } from "hono/factory";
import { verifyAccessToken } from "../../domain/tokens.ts";
import { ChatError } from "../../protocol/errors.ts";
import { findDevice } from "../../storage/d1/users.ts";
import { type AppEnv, db } from "../context.ts";
import { refusedAgain } from "../refusal-memo.ts";

export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new ChatError("unauthenticated", "send an access token: Authorization: Bearer <token>");
  const claims = await verifyAccessToken(c.env.AUTH_SECRET, m[1]!);
  // Refused a moment ago and still before its retry time: refused again, without D1.
  const again = refusedAgain(claims.did, c.req.method, c.req.path, Date.now());
  if (again) throw again;
  const device = await findDevice(db(c), claims.sub, claims.did);
  if (!device || device.revokedAt !== null) {
    throw new ChatError("unauthenticated", "this device is signed out");
  }
  c.set("userId", claims.sub);
  c.set("deviceId", claims.did);
  await next();
});
