/**
 * @module storage/d1/users
 * Accounts, credentials and devices. Password hashes are read only by `findCredentials`.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { PasswordHash } from "../../domain/passwords.ts";
import type { PublicUser } from "../../protocol/frames.ts";
import { chunksFor } from "./bind-limit.ts";
import type { Db } from "./db.ts";
import { credentials, devices, users } from "./schema.ts";

export type UserRow = typeof users.$inferSelect;
export type DeviceRow = typeof devices.$inferSelect;
export type { PublicUser };

export function toPublicUser(u: UserRow): PublicUser {
  return u.deletedAt
    ? { id: u.id, handle: null, display_name: "Deleted user", deleted: true }
    : { id: u.id, handle: u.handle, display_name: u.displayName, deleted: false };
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export async function findUsersByIds(db: Db, ids: string[]): Promise<UserRow[]> {
  const pages = await Promise.all(
    chunksFor(ids, 0).map((chunk) => db.select().from(users).where(inArray(users.id, chunk)).all()),
  );
  return pages.flat();
}

export async function findLiveUserByHandle(db: Db, handle: string): Promise<UserRow | undefined> {
  return db
    .select()
    .from(users)
    .where(and(eq(users.handle, handle), isNull(users.deletedAt)))
    .get();
}

export async function findCredentials(db: Db, userId: string): Promise<PasswordHash | undefined> {
  const row = await db.select().from(credentials).where(eq(credentials.userId, userId)).get();
  return row ? { hash: row.passwordHash, salt: row.salt, iterations: row.iterations } : undefined;
}

export interface NewDevice {
  id: string;
  name: string;
  platform: string;
  refreshHash: string;
  refreshExpiresAt: number;
}

function deviceRow(userId: string, d: NewDevice, now: number): DeviceRow {
  return { ...d, userId, createdAt: now, lastSeenAt: now, revokedAt: null };
}

/**
 * A failed credentials write, with the database's reason but not drizzle's error: drizzle
 * appends a failed query's parameters (here the password hash and salt) to its message, and
 * the Worker logs the message of an unexpected error.
 */
function credentialsWriteFailed(err: unknown): Error {
  const source = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const reason = source instanceof Error ? source.message : String(source);
  // Only a message that carries no parameters is kept (D1's own errors do not carry them).
  const safe = /params:/.test(reason) ? "(reason withheld)" : reason;
  return new Error(`writing credentials failed: ${safe}`);
}

/** Creates the user, its credentials and its first device in one batch (all or nothing). */
export async function createUser(
  db: Db,
  user: { id: string; handle: string; displayName: string },
  password: PasswordHash,
  device: NewDevice,
  now: number,
): Promise<void> {
  await db
    .batch([
      db.insert(users).values({ ...user, createdAt: now }),
      db.insert(credentials).values({
        userId: user.id,
        passwordHash: password.hash,
        salt: password.salt,
        iterations: password.iterations,
        updatedAt: now,
      }),
      db.insert(devices).values(deviceRow(user.id, device, now)),
    ])
    .catch((err: unknown) => {
      // The reason stays in the message: a lost race for a handle reads "UNIQUE constraint failed".
      throw credentialsWriteFailed(err);
    });
}

export async function addDevice(db: Db, userId: string, device: NewDevice, now: number): Promise<void> {
  await db.insert(devices).values(deviceRow(userId, device, now));
}

/**
 * Adds a device unless the user already has `max` live ones; false when refused. One statement,
 * so two logins racing for the last place cannot both take it.
 */
export async function addDeviceWithin(
  db: Db,
  userId: string,
  device: NewDevice,
  now: number,
  max: number,
): Promise<boolean> {
  const r = await db.run(sql`
    INSERT INTO devices (id, user_id, name, platform, created_at, last_seen_at, revoked_at, refresh_hash, refresh_expires_at)
    SELECT ${device.id}, ${userId}, ${device.name}, ${device.platform}, ${now}, ${now}, NULL, ${device.refreshHash}, ${device.refreshExpiresAt}
    WHERE (SELECT COUNT(*) FROM devices WHERE user_id = ${userId} AND revoked_at IS NULL) < ${max}`);
  return (r.meta.changes ?? 0) === 1;
}

export async function updateProfile(
  db: Db,
  userId: string,
  patch: Partial<Pick<UserRow, "displayName" | "invisible" | "hidePreviews">>,
): Promise<void> {
  await db.update(users).set(patch).where(eq(users.id, userId));
}

export async function setPassword(
  db: Db,
  userId: string,
  password: PasswordHash,
  now: number,
): Promise<void> {
  await db
    .update(credentials)
    .set({
      passwordHash: password.hash,
      salt: password.salt,
      iterations: password.iterations,
      updatedAt: now,
    })
    .where(eq(credentials.userId, userId))
    .catch((err: unknown) => {
      throw credentialsWriteFailed(err);
    });
}

/** Frees the handle, forgets the credentials, keeps the id so old messages still resolve. */
export async function markUserDeleted(db: Db, userId: string, now: number): Promise<void> {
  await db.batch([
    db.update(users).set({ handle: null, deletedAt: now }).where(eq(users.id, userId)),
    db.delete(credentials).where(eq(credentials.userId, userId)),
  ]);
}

export async function findDevice(db: Db, userId: string, deviceId: string): Promise<DeviceRow | undefined> {
  return db
    .select()
    .from(devices)
    .where(and(eq(devices.id, deviceId), eq(devices.userId, userId)))
    .get();
}

export async function findDeviceById(db: Db, deviceId: string): Promise<DeviceRow | undefined> {
  return db.select().from(devices).where(eq(devices.id, deviceId)).get();
}

export async function listDevices(db: Db, userId: string): Promise<DeviceRow[]> {
  return db.select().from(devices).where(eq(devices.userId, userId)).all();
}

/**
 * Replaces a live device's refresh hash, but only if it is still `currentHash`: of two
 * refreshes racing with one token, one wins and the other is refused. Returns whether it won.
 */
export async function rotateRefresh(
  db: Db,
  deviceId: string,
  currentHash: string,
  refreshHash: string,
  refreshExpiresAt: number,
  now: number,
): Promise<boolean> {
  const rows = await db
    .update(devices)
    .set({ refreshHash, refreshExpiresAt, lastSeenAt: now })
    .where(and(eq(devices.id, deviceId), eq(devices.refreshHash, currentHash), isNull(devices.revokedAt)))
    .returning({ id: devices.id });
  return rows.length === 1;
}

export async function touchDevice(db: Db, deviceId: string, now: number): Promise<void> {
  await db.update(devices).set({ lastSeenAt: now }).where(eq(devices.id, deviceId));
}

/** Revokes the given live devices of a user; returns the ids that were live. */
export async function revokeDevices(
  db: Db,
  userId: string,
  deviceIds: string[],
  now: number,
): Promise<string[]> {
  // Binds `now` and `userId` beside the ids.
  const pages = await Promise.all(
    chunksFor(deviceIds, 2).map((chunk) =>
      db
        .update(devices)
        .set({ revokedAt: now })
        .where(and(eq(devices.userId, userId), inArray(devices.id, chunk), isNull(devices.revokedAt)))
        .returning({ id: devices.id }),
    ),
  );
  return pages.flat().map((r) => r.id);
}

/** Which of `deviceIds` are live devices of this user. */
export async function liveDevicesAmong(db: Db, userId: string, deviceIds: string[]): Promise<string[]> {
  const pages = await Promise.all(
    chunksFor(deviceIds, 1).map((chunk) =>
      db
        .select({ id: devices.id })
        .from(devices)
        .where(and(eq(devices.userId, userId), inArray(devices.id, chunk), isNull(devices.revokedAt)))
        .all(),
    ),
  );
  return pages.flat().map((r) => r.id);
}

export async function liveDeviceIds(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .select({ id: devices.id })
    .from(devices)
    .where(and(eq(devices.userId, userId), isNull(devices.revokedAt)))
    .all();
  return rows.map((r) => r.id);
}
