/**
 * @module domain/limits
 * Every flood limit of the product, as the deployment sets them (`LIMIT_*` in `wrangler.toml`
 * [vars]; docs/protocol.md §10 lists them with their defaults and what each leaves room for).
 * Rates are `"<burst>/<period>"` (domain/rate-limit.ts). Each object reads them once; the
 * Worker once per isolate. Where each limit is kept, and why there, is in docs/architecture.md
 * ("Flood control").
 */
import { parseRate, type Rate } from "./rate-limit.ts";

/** The settings that are rates, each with the key it is read into. */
const RATES = {
  LIMIT_SENDS_PER_DEVICE: "sendsPerDevice",
  LIMIT_SENDS_PER_USER: "sendsPerUser",
  LIMIT_EDITS_PER_DEVICE: "editsPerDevice",
  LIMIT_REACTIONS_PER_DEVICE: "reactionsPerDevice",
  LIMIT_FRAMES_PER_SOCKET: "framesPerSocket",
  LIMIT_TYPING_PER_SOCKET: "typingPerSocket",
  LIMIT_MARKERS_PER_SOCKET: "markersPerSocket",
  LIMIT_SYNCS_PER_SOCKET: "syncsPerSocket",
  LIMIT_RESUMES_PER_SOCKET: "resumesPerSocket",
  LIMIT_REFUSALS_PER_SOCKET: "refusalsPerSocket",
  LIMIT_HISTORY_PER_USER: "historyPerUser",
  LIMIT_MEMBER_CHANGES_PER_CHANNEL: "memberChangesPerChannel",
  LIMIT_CONNECTS_PER_USER: "connectsPerUser",
  LIMIT_FRIEND_REQUESTS_PER_USER: "friendRequestsPerUser",
  LIMIT_GROUP_CREATES_PER_USER: "groupCreatesPerUser",
  LIMIT_PRESENCE_READS_PER_USER: "presenceReadsPerUser",
  LIMIT_PUSH_CHANGES_PER_USER: "pushChangesPerUser",
  LIMIT_WRITES_PER_USER: "writesPerUser",
  LIMIT_SIGNUPS_PER_ADDRESS: "signupsPerAddress",
  LIMIT_LOGIN_FAILURES_PER_HANDLE_ADDRESS: "loginFailuresPerHandleAddress",
  LIMIT_LOGIN_FAILURES_PER_HANDLE: "loginFailuresPerHandle",
  LIMIT_LOGIN_FAILURES_PER_ADDRESS: "loginFailuresPerAddress",
  LIMIT_PASSWORD_FAILURES_PER_USER: "passwordFailuresPerUser",
  LIMIT_UPLOADS_PER_USER: "uploadsPerUser",
  LIMIT_UPLOAD_BYTES_PER_USER: "uploadBytesPerUser",
  LIMIT_DOWNLOADS_PER_USER: "downloadsPerUser",
  LIMIT_SEARCHES_PER_USER: "searchesPerUser",
  LIMIT_EXPORTS_PER_USER: "exportsPerUser",
} as const;

/** The settings that are counts. */
const COUNTS = {
  LIMIT_DEVICES_PER_USER: "devicesPerUser",
  LIMIT_SOCKET_BUFFER_BYTES: "socketBufferBytes",
  LIMIT_FLOOD_PAUSE_MS: "floodPauseMs",
} as const;

export type RateName = (typeof RATES)[keyof typeof RATES];
export type CountName = (typeof COUNTS)[keyof typeof COUNTS];
export type Limits = Record<RateName, Rate> & Record<CountName, number>;
export type LimitSetting = keyof typeof RATES | keyof typeof COUNTS;

/** Every limit setting's name, as it appears in wrangler.toml and in docs/protocol.md §10. */
export const LIMIT_SETTINGS = [...Object.keys(RATES), ...Object.keys(COUNTS)] as LimitSetting[];

/**
 * The per-user limits a user object keeps for the Worker's routes (`UserInbox.takeLimit`):
 * each names its rate.
 */
export const USER_LIMITS = {
  connect: "connectsPerUser",
  friend_request: "friendRequestsPerUser",
  group_create: "groupCreatesPerUser",
  presence_read: "presenceReadsPerUser",
  push_change: "pushChangesPerUser",
  write: "writesPerUser",
  upload: "uploadsPerUser",
  upload_bytes: "uploadBytesPerUser",
  search: "searchesPerUser",
  export: "exportsPerUser",
} as const satisfies Record<string, RateName>;

export type UserLimit = keyof typeof USER_LIMITS;

const cache = new WeakMap<object, Limits>();

/** Reads every limit from the deployment's settings; throws on a missing or malformed one. */
export function readLimits(env: object): Limits {
  const known = cache.get(env);
  if (known) return known;
  const vars = env as Record<string, unknown>;
  const out: Record<string, Rate | number> = {};
  for (const [setting, key] of Object.entries(RATES)) out[key] = parseRate(String(vars[setting]), setting);
  for (const [setting, key] of Object.entries(COUNTS)) {
    const n = Number(vars[setting]);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${setting}: "${vars[setting]}" is not a count`);
    out[key] = n;
  }
  const limits = out as Limits;
  cache.set(env, limits);
  return limits;
}
