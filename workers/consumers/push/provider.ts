/**
 * @module workers/consumers/push/provider
 * What the push consumer needs from a push service, whatever the transport: send one
 * notification to one device and say what happened. Web Push (RFC 8030/8291/8292) is the one
 * implementation today (`web-push.ts`); APNs and FCM would be others, chosen per subscription.
 * A provider never throws for a failed send: every result, network errors included, is a
 * `PushOutcome` the consumer can act on (ack, retry, drop the subscription).
 */
import type { PushPayload } from "../../../protocol/push.ts";

/** A device's subscription as the browser gave it (keys base64url, as in `PushSubscription.toJSON()`). */
export interface PushTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface PushSendOptions {
  /** Collapse key: the push service keeps only the newest undelivered message per topic. */
  topic: string;
  /** Seconds the push service may hold the message for an offline device. */
  ttl: number;
  urgency: "low" | "normal" | "high";
}

export type PushOutcome =
  | { kind: "sent" }
  /** 404/410: the subscription expired or was removed; never use it again. */
  | { kind: "gone" }
  /** 429 (or 503) with a Retry-After the push service wants honoured. */
  | { kind: "throttled"; retryAfterS: number }
  | { kind: "failed"; status?: number; error?: string };

export interface PushProvider {
  send(target: PushTarget, payload: PushPayload, opts: PushSendOptions): Promise<PushOutcome>;
}

/**
 * A `Retry-After` value in seconds from `now`: delay-seconds or an HTTP date (RFC 9110
 * §10.2.3). Null when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // An HTTP date names its day or month ("Sat, 21 Nov 2026 12:00:30 GMT"); Date.parse alone
  // would also take "-5" or "2026" for a date.
  if (!/[a-z]{3}/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Maps a push service's HTTP answer to an outcome (RFC 8030 §5, §8.4). */
export function outcomeOf(status: number, retryAfter: string | null, now: number): PushOutcome {
  if (status >= 200 && status < 300) return { kind: "sent" };
  if (status === 404 || status === 410) return { kind: "gone" };
  if (status === 429 || status === 503) {
    const retryAfterS = parseRetryAfter(retryAfter, now);
    if (retryAfterS !== null) return { kind: "throttled", retryAfterS };
  }
  return { kind: "failed", status };
}
