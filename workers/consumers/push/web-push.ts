/**
 * @module workers/consumers/push/web-push
 * The Web Push provider: the payload is encrypted for the device (RFC 8291, aes128gcm) and the
 * request signed with our VAPID key (RFC 8292) by @block65/webcrypto-web-push, which uses only
 * WebCrypto and so runs in workerd; then it is POSTed to the subscription's endpoint.
 * The library pads every body to 4096 bytes, so a payload may be at most 3993 bytes of JSON;
 * ours (a reference and a 100-character preview) is far below that.
 */
import { buildPushPayload } from "@block65/webcrypto-web-push";
import type { PushPayload } from "../../../protocol/push.ts";
import {
  outcomeOf,
  type PushOutcome,
  type PushProvider,
  type PushSendOptions,
  type PushTarget,
} from "./provider.ts";

export interface VapidConfig {
  /** `mailto:` or `https:` contact for push services (RFC 8292 §2.1). */
  subject: string;
  /** base64url of the 65-byte uncompressed P-256 point. */
  publicKey: string;
  /** base64url of the private scalar (the JWK `d`). */
  privateKey: string;
}

/** A push service that does not answer within this long counts as a failed send (and is retried). */
const SEND_TIMEOUT_MS = 10_000;

export class WebPushProvider implements PushProvider {
  readonly #vapid: VapidConfig;
  readonly #fetch: typeof fetch;

  /** `fetchImpl` defaults to the global `fetch`, looked up per call (so tests can spy on it). */
  constructor(vapid: VapidConfig, fetchImpl?: typeof fetch) {
    this.#vapid = vapid;
    this.#fetch = fetchImpl ?? ((input, init) => fetch(input, init));
  }

  async send(target: PushTarget, payload: PushPayload, opts: PushSendOptions): Promise<PushOutcome> {
    // The library builds requests for https endpoints only, as every push service is. A local
    // receiver that a development setup names (PUSH_LOCAL_RECEIVERS, checked by the consumer
    // before this) may be plain http: its request is built for the https form of the URL (the
    // VAPID `aud` says https) and sent to the URL as it is.
    const buildFor = target.endpoint.startsWith("http:")
      ? `https:${target.endpoint.slice(5)}`
      : target.endpoint;
    let request: Awaited<ReturnType<typeof buildPushPayload>>;
    try {
      request = await buildPushPayload(
        { data: { ...payload }, options: { ttl: opts.ttl, topic: opts.topic, urgency: opts.urgency } },
        {
          endpoint: buildFor,
          expirationTime: null,
          keys: { p256dh: target.p256dh, auth: target.auth },
        },
        this.#vapid,
      );
    } catch (err) {
      // Bad keys in the subscription or in our VAPID config: no request was made.
      return { kind: "failed", error: `could not build the push request: ${String(err)}` };
    }
    try {
      const res = await this.#fetch(target.endpoint, {
        method: request.method.toUpperCase(),
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      });
      // The answer's body is never needed; release the connection.
      await res.body?.cancel();
      return outcomeOf(res.status, res.headers.get("retry-after"), Date.now());
    } catch (err) {
      return { kind: "failed", error: String(err) };
    }
  }
}
