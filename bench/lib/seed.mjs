/**
 * Accounts for the benchmark, written straight into the product's local D1 (bench/README.md,
 * "Seeding"). Signing up costs 100,000 PBKDF2 iterations per account by design, so thousands of
 * devices cannot go through POST /v1/auth/signup in the time the suite has. Instead:
 *
 * - the rows are exactly those sign-up and login write (storage/d1/users.ts `createUser`,
 *   `addDevice`): `users`, `credentials` and `devices`. Sign-up writes nothing else, and the
 *   user objects know a user only once a device connects or a channel updates them, just as
 *   for a real account;
 * - every account gets the same password hash, made once with the product's own
 *   `hashPassword` (domain/passwords.ts): a seeded user can log in with BENCH_PASSWORD;
 * - each device's access token is minted with the product's `issueAccessToken`
 *   (domain/tokens.ts) and the AUTH_SECRET the benchmark gave the server;
 * - friendships, conversations and groups go through the REST API, like any client's.
 *
 * The production code path is unchanged, and so are its limits: the seed check's login
 * succeeds, and successes are never counted (servers.mjs SEND_VARS lists what some scenarios
 * raise).
 */
import { sha256 } from "../../domain/encoding.ts";
import { hashPassword } from "../../domain/passwords.ts";
import { issueAccessToken, newRefreshSecret, REFRESH_TTL_S } from "../../domain/tokens.ts";
import { newId } from "../../protocol/ids.ts";
import { pool } from "./sockets.mjs";

export const BENCH_PASSWORD = "bench password 1";

let precomputed;
/** One PBKDF2 derivation per process, shared by every seeded account. */
function passwordHash() {
  precomputed ??= hashPassword(BENCH_PASSWORD);
  return precomputed;
}

/** SQL literal for the values this module generates (ids, handles, base64url, numbers). */
function lit(v) {
  if (v === null) return "NULL";
  if (typeof v === "number") return String(Math.trunc(v));
  if (!/^[A-Za-z0-9_\-. ]*$/.test(v)) throw new Error(`refusing to inline ${JSON.stringify(v)}`);
  return `'${v}'`;
}

async function insertRows(db, table, columns, rows) {
  // Multi-row INSERTs of up to 400 rows: the D1 binding in the harness refuses large batches
  // of prepared statements from Node, and one statement per row would be thousands of calls.
  for (let i = 0; i < rows.length; i += 400) {
    const values = rows
      .slice(i, i + 400)
      .map((r) => `(${r.map(lit).join(",")})`)
      .join(",");
    await db.prepare(`INSERT INTO ${table} (${columns.join(",")}) VALUES ${values}`).run();
  }
}

async function newDevice(server, userId, now) {
  const deviceId = newId();
  const refresh = newRefreshSecret(deviceId);
  return {
    deviceId,
    userId,
    token: await issueAccessToken(server.authSecret, userId, deviceId),
    row: [
      deviceId,
      userId,
      "bench device",
      "bench",
      now,
      now,
      null,
      await sha256(refresh.secret),
      now + REFRESH_TTL_S * 1000,
    ],
  };
}

const DEVICE_COLUMNS = [
  "id",
  "user_id",
  "name",
  "platform",
  "created_at",
  "last_seen_at",
  "revoked_at",
  "refresh_hash",
  "refresh_expires_at",
];

let seedRun = 0;

/**
 * `count` users with `devicesPerUser` devices each:
 * [{ id, handle, devices: [{ deviceId, userId, token }] }].
 */
export async function seedUsers(server, count, { devicesPerUser = 1, prefix = "b" } = {}) {
  const now = Date.now();
  const pw = await passwordHash();
  const run = `${prefix}${(++seedRun).toString(36)}${process.pid.toString(36)}`.toLowerCase().slice(0, 20);
  const users = [];
  for (let i = 0; i < count; i++) {
    const id = newId();
    const devices = [];
    for (let d = 0; d < devicesPerUser; d++) devices.push(await newDevice(server, id, now));
    users.push({ id, handle: `${run}_${i}`, devices });
  }
  await insertRows(
    server.env.DB,
    "users",
    ["id", "handle", "display_name", "invisible", "hide_previews", "created_at", "deleted_at"],
    users.map((u) => [u.id, u.handle, u.handle, 0, 0, now, null]),
  );
  await insertRows(
    server.env.DB,
    "credentials",
    ["user_id", "password_hash", "salt", "iterations", "updated_at"],
    users.map((u) => [u.id, pw.hash, pw.salt, pw.iterations, now]),
  );
  await insertRows(
    server.env.DB,
    "devices",
    DEVICE_COLUMNS,
    users.flatMap((u) => u.devices.map((d) => d.row)),
  );
  for (const u of users) for (const d of u.devices) delete d.row;
  return users;
}

/** One more seeded device for an existing seeded user. */
export async function addSeededDevice(server, user) {
  const d = await newDevice(server, user.id, Date.now());
  await insertRows(server.env.DB, "devices", DEVICE_COLUMNS, [d.row]);
  delete d.row;
  user.devices.push(d);
  return d;
}

/**
 * Where a scenario's accounts come from: `users(count, { prefix })` makes accounts with one
 * device each, `addDevice(user)` gives one another device. The suite seeds them (this);
 * bench/profile.mjs, which cannot reach the local D1, signs them up through the API.
 */
export function seededAccounts(server) {
  return {
    users: (count, opts) => seedUsers(server, count, opts),
    addDevice: (user) => addSeededDevice(server, user),
  };
}

/**
 * Shows that a seeded account is a real one: it logs in with the password (one PBKDF2 in the
 * Worker) and its minted token reads the profile. Returns the login's time in ms.
 */
export async function checkSeeded(api, user) {
  const t0 = performance.now();
  const login = await api("POST", "/v1/auth/login", {
    body: { handle: user.handle, password: BENCH_PASSWORD },
  });
  const ms = performance.now() - t0;
  if (login.user_id !== user.id) throw new Error("seeded login returned another user");
  const me = await api("GET", "/v1/users/me", { token: user.devices[0].token });
  if (me.id !== user.id) throw new Error("seeded token read another profile");
  return ms;
}

/** Friend request and acceptance through the API (each side's user object is told). */
export async function befriend(api, a, b) {
  await api("POST", "/v1/friends/requests", { token: a.devices[0].token, body: { user_id: b.id } });
  await api("POST", `/v1/friends/${a.id}/accept`, { token: b.devices[0].token });
}

export async function befriendAll(api, pairs, concurrency = 8) {
  await pool(pairs, concurrency, ([a, b]) => befriend(api, a, b));
}

export async function openDm(api, a, b) {
  const r = await api("POST", "/v1/channels/dm", { token: a.devices[0].token, body: { user_id: b.id } });
  return r.channel_id;
}

export async function createGroup(api, owner, members, name = "bench") {
  const r = await api("POST", "/v1/groups", {
    token: owner.devices[0].token,
    body: { name, member_ids: members.map((m) => m.id) },
  });
  return r.channel_id;
}
