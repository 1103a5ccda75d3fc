/**
 * @module workers/consumers/push/consumer
 * The `push` Queue's consumer and its dead-letter consumer. A job (protocol/push.ts) stands for
 * the newest message of one channel for one user; it goes to each of that user's subscribed
 * devices through a `PushProvider`.
 *
 * Per message, never per batch: a job is acked when every device got it (or cannot get it any
 * more: its subscription is gone), and retried when some device should be tried again, after
 * the push service's Retry-After or an exponential backoff. Devices already sent this
 * (channel, seq) are skipped, so a retry or a redelivery never notifies a device twice.
 * Before a retry the user's Durable Object is asked whether the job is still wanted: not once
 * a device of the user is connected or the message was read (#16). After the queue's last
 * retry the job lands on `push-dlq`, whose consumer records it in `push_failures` with the
 * attempts the user object counted. Either way the user's Durable Object is told the job is
 * settled (`pushSettled`), so it can queue the channel's next notification.
 */
import * as v from "valibot";
import { preview } from "../../../domain/message-text.ts";
import { localReceivers, pushEndpointProblem } from "../../../domain/push-endpoint.ts";
import { errorText, log } from "../../../observability/log.ts";
import { type Metrics, metricsOf } from "../../../observability/metrics.ts";
import { type PushJob, PushJobSchema, type PushPayload, pushTopic } from "../../../protocol/push.ts";
import { type Db, openDb } from "../../../storage/d1/db.ts";
import {
  alreadySent,
  deleteSubscriptionByEndpoint,
  listSubscriptions,
  type PushSubscriptionRow,
  recordFailure,
  recordSent,
} from "../../../storage/d1/push.ts";
import { inboxStub } from "../../context.ts";
import type { PushOutcome, PushProvider, PushSendOptions } from "./provider.ts";
import { WebPushProvider } from "./web-push.ts";

/** Queue names as in wrangler.toml; `batch.queue` says which one a batch came from. */
export const PUSH_QUEUE = "push";
export const PUSH_DEAD_LETTER_QUEUE = "push-dlq";

/**
 * Which consumer a queue's batches go to. Queue names are per account, so each environment
 * names its own pair (wrangler.toml: `push-staging` and `push-dlq-staging`, …): the role is the
 * name up to the environment's suffix.
 */
export function queueRole(queue: string): "push" | "dead_letters" | null {
  if (queue === PUSH_DEAD_LETTER_QUEUE || queue.startsWith(`${PUSH_DEAD_LETTER_QUEUE}-`))
    return "dead_letters";
  if (queue === PUSH_QUEUE || queue.startsWith(`${PUSH_QUEUE}-`)) return "push";
  return null;
}

/** A push service may hold a notification this long for an offline device (RFC 8030 §5.2). */
export const PUSH_TTL_S = 24 * 60 * 60;
/** At most this many characters of preview leave the server, whatever the job says. */
export const MAX_PREVIEW_CHARS = 100;
/** Exponential backoff cap, and the longest delay Queues accepts for a retry (12 h). */
const MAX_BACKOFF_S = 300;
const MAX_RETRY_DELAY_S = 12 * 60 * 60;

export interface PushConsumerDeps {
  db: Db;
  provider: PushProvider;
  /** Tells the user's Durable Object that the job for (channel, seq) is done with. */
  settle(userId: string, channelId: string, seq: number): Promise<void>;
  /** Asks the user's Durable Object whether attempt number `attempt` (≥ 2) should still go. */
  retryWanted(userId: string, channelId: string, seq: number, attempt: number): Promise<boolean>;
  /** The attempts the user's Durable Object counted for the job, if it still tracks it. */
  attempts(userId: string, channelId: string, seq: number): Promise<number | null>;
  /** Origins of local push receivers a development setup allows (`PUSH_LOCAL_RECEIVERS`). */
  localReceivers: string[];
  metrics: Metrics;
  now(): number;
}

/** The production wiring: D1, Web Push with our VAPID keys, the user's Durable Object. */
export function pushConsumerDeps(env: Env, overrides: Partial<PushConsumerDeps> = {}): PushConsumerDeps {
  return {
    db: openDb(env.DB),
    provider: new WebPushProvider({
      subject: env.VAPID_SUBJECT,
      publicKey: env.VAPID_PUBLIC_KEY,
      privateKey: env.VAPID_PRIVATE_KEY,
    }),
    settle: (userId, channelId, seq) => inboxStub(env, userId).pushSettled(channelId, seq),
    retryWanted: (userId, channelId, seq, attempt) =>
      inboxStub(env, userId).pushRetryWanted(channelId, seq, attempt),
    attempts: (userId, channelId, seq) => inboxStub(env, userId).pushAttempts(channelId, seq),
    localReceivers: localReceivers(env.PUSH_LOCAL_RECEIVERS),
    metrics: metricsOf(env),
    now: Date.now,
    ...overrides,
  };
}

/** Seconds before retry number `attempts` (1 on the first delivery): 2, 4, 8, … up to 5 minutes. */
export function backoffSeconds(attempts: number): number {
  return Math.min(MAX_BACKOFF_S, 2 ** Math.max(1, attempts));
}

/** What the service worker gets: the reference, and the preview cut to 100 code points. */
export function payloadOf(job: PushJob): PushPayload {
  return {
    v: 1,
    type: "message",
    channel_id: job.channel_id,
    seq: job.seq,
    message_id: job.message_id,
    sender_id: job.sender_id,
    preview: job.preview === null ? null : preview(job.preview, MAX_PREVIEW_CHARS),
    badge: job.badge,
  };
}

/** The endpoint's origin only: the full URL is a capability to push to that device. */
function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return "(invalid)";
  }
}

/** The job's key fields when they are readable, even from a body that failed validation. */
function looseKey(body: unknown): { userId: string; channelId: string; seq: number } | null {
  if (typeof body !== "object" || body === null) return null;
  const b = body as Record<string, unknown>;
  if (typeof b.user_id !== "string" || typeof b.channel_id !== "string") return null;
  if (typeof b.seq !== "number" || !Number.isSafeInteger(b.seq)) return null;
  return { userId: b.user_id, channelId: b.channel_id, seq: b.seq };
}

type DeviceResult = PushOutcome | { kind: "skipped" };

async function sendToDevice(
  deps: PushConsumerDeps,
  job: PushJob,
  sub: PushSubscriptionRow,
  payload: PushPayload,
  opts: PushSendOptions,
  attempts: number,
): Promise<DeviceResult> {
  // Checked again here: a subscription stored before the rule, or while a local receiver was
  // allowed, is removed as one the push service declared gone, and nothing is sent to it.
  const problem = pushEndpointProblem(sub.endpoint, deps.localReceivers);
  if (problem) {
    await deleteSubscriptionByEndpoint(deps.db, sub.endpoint);
    log.warn("push.subscription_refused", {
      reason: `endpoint ${problem}`,
      device_id: sub.deviceId,
      push_service: originOf(sub.endpoint),
    });
    deps.metrics.push("refused", attempts, deps.now() - job.queued_at);
    return { kind: "gone" };
  }
  if (await alreadySent(deps.db, sub.deviceId, job.channel_id, job.seq)) {
    deps.metrics.push("skipped", attempts, deps.now() - job.queued_at);
    return { kind: "skipped" };
  }
  const outcome = await deps.provider.send(sub, payload, opts);
  deps.metrics.push(outcome.kind, attempts, deps.now() - job.queued_at);
  if (outcome.kind === "sent") {
    await recordSent(deps.db, sub.deviceId, job.channel_id, job.seq, deps.now());
  } else if (outcome.kind === "gone") {
    await deleteSubscriptionByEndpoint(deps.db, sub.endpoint);
  }
  if (outcome.kind !== "sent") {
    log.info(outcome.kind === "gone" ? "push.subscription_gone" : "push.send_not_done", {
      outcome: outcome.kind,
      ...(outcome.kind === "failed" && { reason: outcome.status ? `status ${outcome.status}` : "network" }),
      ...("retryAfterS" in outcome && { delay_s: outcome.retryAfterS }),
      device_id: sub.deviceId,
      push_service: originOf(sub.endpoint),
      channel_id: job.channel_id,
      seq: job.seq,
    });
  }
  return outcome;
}

/**
 * Sends one job to every device that has not had it; returns the delay before a retry, or
 * null when the job is done.
 */
async function deliver(deps: PushConsumerDeps, job: PushJob, attempts: number): Promise<number | null> {
  // The first attempt goes as the user object decided a moment ago; a retry comes seconds to
  // hours later, and goes only if the user object still wants it, for every device at once.
  if (attempts > 1 && !(await deps.retryWanted(job.user_id, job.channel_id, job.seq, attempts))) {
    log.info("push.retry_dropped", { channel_id: job.channel_id, seq: job.seq, attempts });
    return null;
  }
  const subs = await listSubscriptions(deps.db, job.user_id);
  if (subs.length === 0) return null;
  const payload = payloadOf(job);
  const opts: PushSendOptions = { topic: await pushTopic(job.channel_id), ttl: PUSH_TTL_S, urgency: "high" };
  const results = await Promise.all(subs.map((sub) => sendToDevice(deps, job, sub, payload, opts, attempts)));

  let retryAfter: number | null = null;
  let failed = false;
  for (const r of results) {
    if (r.kind === "throttled") retryAfter = Math.max(retryAfter ?? 0, r.retryAfterS);
    if (r.kind === "failed") failed = true;
  }
  if (retryAfter === null && !failed) return null;
  // A throttled push service is waited for as long as it asks; a failed send backs off.
  const delay = Math.max(retryAfter ?? 0, failed ? backoffSeconds(attempts) : 0);
  return Math.min(delay, MAX_RETRY_DELAY_S);
}

async function consumeJob(deps: PushConsumerDeps, msg: Message<unknown>): Promise<void> {
  const parsed = v.safeParse(PushJobSchema, msg.body);
  if (!parsed.success) {
    // Retrying cannot fix a malformed job: drop it, but free its channel if we can name it.
    log.warn("push.malformed_job", {
      queue_message_id: msg.id,
      issues: Object.keys(v.flatten(parsed.issues).nested ?? {}),
    });
    const key = looseKey(msg.body);
    if (key) await deps.settle(key.userId, key.channelId, key.seq);
    msg.ack();
    return;
  }
  const job = parsed.output;
  const retryIn = await deliver(deps, job, msg.attempts);
  if (retryIn !== null) {
    log.info("push.retry", { queue_message_id: msg.id, attempts: msg.attempts, delay_s: retryIn });
    msg.retry({ delaySeconds: retryIn });
    return;
  }
  await deps.settle(job.user_id, job.channel_id, job.seq);
  msg.ack();
}

/** The `push` queue: each job acked or retried on its own. */
export async function consumePushBatch(batch: MessageBatch<unknown>, deps: PushConsumerDeps): Promise<void> {
  await Promise.all(
    batch.messages.map(async (msg) => {
      try {
        await consumeJob(deps, msg);
      } catch (err) {
        // D1 or the user's Durable Object failed, not the push service. Sending again is
        // safe: devices already notified are skipped.
        log.warn("push.error", { queue_message_id: msg.id, attempts: msg.attempts, error: errorText(err) });
        msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
      }
    }),
  );
}

/** The dead-letter queue: a job that exhausted its retries is recorded, then settled. */
export async function consumeDeadLetters(
  batch: MessageBatch<unknown>,
  deps: PushConsumerDeps,
): Promise<void> {
  await Promise.all(
    batch.messages.map(async (msg) => {
      try {
        const key = looseKey(msg.body);
        // The dead letter's own `attempts` counts its deliveries on this queue (usually 1); the
        // user object counted the job's attempts on the `push` queue. It forgets a job whose
        // slot a newer one took (after 5 minutes in flight); then only the former is known.
        const counted = key ? await deps.attempts(key.userId, key.channelId, key.seq) : null;
        await recordFailure(
          deps.db,
          {
            id: msg.id,
            userId: key?.userId ?? "",
            channelId: key?.channelId ?? "",
            seq: key?.seq ?? 0,
            attempts: counted ?? msg.attempts,
            body: JSON.stringify(msg.body) ?? "null",
          },
          deps.now(),
        );
        log.warn("push.dead_letter", {
          queue_message_id: msg.id,
          channel_id: key?.channelId,
          seq: key?.seq,
          attempts: counted ?? msg.attempts,
        });
        deps.metrics.deadLetter("recorded", 1, counted ?? msg.attempts);
        if (key) await deps.settle(key.userId, key.channelId, key.seq);
        msg.ack();
      } catch (err) {
        log.warn("push.error", { queue: batch.queue, queue_message_id: msg.id, error: errorText(err) });
        msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
      }
    }),
  );
}
