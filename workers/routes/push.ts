/**
 * @module workers/routes/push
 * Web Push: the VAPID public key clients subscribe with (public, so a page can subscribe
 * before signing in), and the calling device's subscription, at most one per device: PUT
 * replaces it, DELETE removes it. A device's subscription also goes when the device is signed
 * out or revoked (workers/sessions.ts), and when the push service answers 404/410.
 *
 * The server POSTs to the endpoint, so it must look like a public push service
 * (domain/push-endpoint.ts): an IP address or a local name is refused, except the local
 * receivers a development setup names in `PUSH_LOCAL_RECEIVERS`.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { fromBase64Url } from "../../domain/encoding.ts";
import { localReceivers, pushEndpointProblem } from "../../domain/push-endpoint.ts";
import { ChatError } from "../../protocol/errors.ts";
import { deleteSubscription, upsertSubscription } from "../../storage/d1/push.ts";
import { type AppEnv, db } from "../context.ts";
import { requireAuth } from "../middleware/auth.ts";
import { limitPerUser } from "../middleware/limits.ts";
import { valid } from "../validate.ts";

/** base64url (as `PushSubscription.toJSON()` gives it) of exactly `bytes` bytes; padding dropped. */
const base64UrlBytes = (bytes: number, what: string) =>
  v.pipe(
    v.string(),
    v.regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} must be base64url`),
    v.transform((s) => s.replace(/=+$/, "")),
    v.check((s) => s.length === Math.ceil((bytes * 4) / 3), `${what} must be ${bytes} bytes`),
  );

/**
 * The browser's `PushSubscription.toJSON()`, which can be sent as it is (`expirationTime`
 * is accepted and ignored: a push service's 404/410 is what ends a subscription here). Whether
 * the endpoint may be pushed to depends on the deployment's setting, so the handler checks it.
 */
export const PushSubscriptionBody = v.strictObject({
  endpoint: v.pipe(
    v.string(),
    v.maxLength(2048, "endpoint is at most 2048 characters"),
    v.url("endpoint must be a URL"),
  ),
  expirationTime: v.optional(v.nullable(v.number())),
  keys: v.strictObject({
    /** The device's P-256 public key, uncompressed (0x04 ‖ x ‖ y). */
    p256dh: v.pipe(
      base64UrlBytes(65, "keys.p256dh"),
      v.check((s) => fromBase64Url(s)[0] === 0x04, "keys.p256dh must be an uncompressed P-256 point"),
    ),
    auth: base64UrlBytes(16, "keys.auth"),
  }),
});

export const push = new Hono<AppEnv>();

push.get("/vapid-public-key", (c) => c.json({ public_key: c.env.VAPID_PUBLIC_KEY }));

push.put(
  "/subscription",
  requireAuth,
  limitPerUser("push_change"),
  valid("json", PushSubscriptionBody),
  async (c) => {
    const body = c.req.valid("json");
    const problem = pushEndpointProblem(body.endpoint, localReceivers(c.env.PUSH_LOCAL_RECEIVERS));
    if (problem) {
      throw new ChatError("validation_failed", `endpoint ${problem}`, {
        details: [{ path: "endpoint", message: `endpoint ${problem}` }],
      });
    }
    await upsertSubscription(
      db(c),
      {
        deviceId: c.get("deviceId"),
        userId: c.get("userId"),
        endpoint: body.endpoint,
        p256dh: body.keys.p256dh,
        auth: body.keys.auth,
      },
      Date.now(),
    );
    return c.body(null, 204);
  },
);

push.delete("/subscription", requireAuth, limitPerUser("push_change"), async (c) => {
  await deleteSubscription(db(c), c.get("deviceId"));
  return c.body(null, 204);
});
