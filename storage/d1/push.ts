/**
 * @module storage/d1/push
 * Web Push subscriptions (at most one per device; they go with the device), the pushes already
 * sent (so a redelivered job never notifies a device twice for one message) and the jobs that
 * exhausted their retries.
 */
import { and, asc, desc, eq, inArray, isNull, ne } from "drizzle-orm";
import { chunksFor } from "./bind-limit.ts";
import type { Db } from "./db.ts";
import { devices, pushFailures, pushSent, pushSubscriptions } from "./schema.ts";

export type PushSubscriptionRow = typeof pushSubscriptions.$inferSelect;

export interface NewPushSubscription {
  deviceId: string;
  userId: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

/**
 * Stores the device's subscription, replacing the one it had. An endpoint belongs to one
 * browser profile, so another device row holding the same endpoint (an earlier login in the
 * same browser that was never signed out) loses it: one device, one endpoint.
 */
export async function upsertSubscription(db: Db, sub: NewPushSubscription, now: number): Promise<void> {
  const { deviceId, ...rest } = sub;
  await db.batch([
    db
      .delete(pushSubscriptions)
      .where(and(eq(pushSubscriptions.endpoint, sub.endpoint), ne(pushSubscriptions.deviceId, deviceId))),
    db
      .insert(pushSubscriptions)
      .values({ ...sub, createdAt: now })
      .onConflictDoUpdate({ target: pushSubscriptions.deviceId, set: { ...rest, createdAt: now } }),
  ]);
}

/** Removes a device's subscription; returns whether it had one. */
export async function deleteSubscription(db: Db, deviceId: string): Promise<boolean> {
  const rows = await db
    .delete(pushSubscriptions)
    .where(eq(pushSubscriptions.deviceId, deviceId))
    .returning({ deviceId: pushSubscriptions.deviceId });
  return rows.length > 0;
}

/** Removes the subscriptions of these devices (signed out or revoked). */
export async function deleteSubscriptionsOfDevices(db: Db, deviceIds: string[]): Promise<void> {
  await Promise.all(
    chunksFor(deviceIds, 0).map((chunk) =>
      db.delete(pushSubscriptions).where(inArray(pushSubscriptions.deviceId, chunk)),
    ),
  );
}

/**
 * Removes the subscription with this endpoint (the push service said 404/410). By endpoint,
 * not device: if the device subscribed again meanwhile, its new subscription stays.
 */
export async function deleteSubscriptionByEndpoint(db: Db, endpoint: string): Promise<void> {
  await db.delete(pushSubscriptions).where(eq(pushSubscriptions.endpoint, endpoint));
}

/**
 * The user's subscriptions of live devices. Revoking a device deletes its subscription; the
 * join also covers a subscription written while its device was being revoked.
 */
export async function listSubscriptions(db: Db, userId: string): Promise<PushSubscriptionRow[]> {
  const rows = await db
    .select({ sub: pushSubscriptions })
    .from(pushSubscriptions)
    .innerJoin(devices, eq(devices.id, pushSubscriptions.deviceId))
    .where(and(eq(pushSubscriptions.userId, userId), isNull(devices.revokedAt)))
    .all();
  return rows.map((r) => r.sub);
}

/** Whether this device was already sent the notification for (channel, seq). */
export async function alreadySent(
  db: Db,
  deviceId: string,
  channelId: string,
  seq: number,
): Promise<boolean> {
  const row = await db
    .select({ seq: pushSent.seq })
    .from(pushSent)
    .where(and(eq(pushSent.deviceId, deviceId), eq(pushSent.channelId, channelId), eq(pushSent.seq, seq)))
    .get();
  return row !== undefined;
}

export async function recordSent(
  db: Db,
  deviceId: string,
  channelId: string,
  seq: number,
  now: number,
): Promise<void> {
  await db.insert(pushSent).values({ deviceId, channelId, seq, sentAt: now }).onConflictDoNothing();
}

export interface PushFailure {
  /** The queue message id: a redelivered dead letter records nothing new. */
  id: string;
  userId: string;
  channelId: string;
  seq: number;
  attempts: number;
  /** The job as it was queued, JSON. */
  body: string;
}

export async function recordFailure(db: Db, failure: PushFailure, now: number): Promise<void> {
  await db
    .insert(pushFailures)
    .values({ ...failure, failedAt: now })
    .onConflictDoNothing();
}

/** A dead letter as the operator view shows it: the job's keys, never its preview. */
export interface PushFailureSummary {
  id: string;
  userId: string;
  channelId: string;
  seq: number;
  attempts: number;
  failedAt: number;
}

const failureSummary = {
  id: pushFailures.id,
  userId: pushFailures.userId,
  channelId: pushFailures.channelId,
  seq: pushFailures.seq,
  attempts: pushFailures.attempts,
  failedAt: pushFailures.failedAt,
};

/** The newest dead letters first (index `push_failures_failed_at`). */
export async function latestFailures(db: Db, limit: number): Promise<PushFailureSummary[]> {
  return db.select(failureSummary).from(pushFailures).orderBy(desc(pushFailures.failedAt)).limit(limit).all();
}

/** Dead letters with their queued job: these ids (at most 100: D1's bind limit), or the oldest `limit`. */
export async function failuresToSettle(
  db: Db,
  which: { ids: string[] } | { oldest: number },
): Promise<(PushFailureSummary & { body: string })[]> {
  const select = () => db.select({ ...failureSummary, body: pushFailures.body }).from(pushFailures);
  if ("ids" in which) {
    const rows = await Promise.all(
      chunksFor(which.ids, 0).map((chunk) => select().where(inArray(pushFailures.id, chunk)).all()),
    );
    return rows.flat();
  }
  return select().orderBy(asc(pushFailures.failedAt)).limit(which.oldest).all();
}

/** Removes these dead letters (retried or dropped); returns how many were there. */
export async function deleteFailures(db: Db, ids: string[]): Promise<number> {
  let deleted = 0;
  for (const chunk of chunksFor(ids, 0)) {
    const rows = await db
      .delete(pushFailures)
      .where(inArray(pushFailures.id, chunk))
      .returning({ id: pushFailures.id });
    deleted += rows.length;
  }
  return deleted;
}
