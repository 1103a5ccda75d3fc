/**
 * @module durable-objects/user-inbox
 * One Durable Object per user: it holds each device's always-on user socket (Hibernation
 * API) and a copy of the user's channels with their heads and read markers, kept in step by
 * each ChannelRoom through `applyChannelUpdate`. That one socket is enough for a device to
 * receive every message of every channel.
 *
 * Each device gets, per channel, a gap-free stream in seq order: `device_streams` remembers
 * the last seq sent; updates continue from there, a gap is filled from the channel, and a
 * (re)connecting device resets it from its own cursors with `resume`. Work for one device
 * runs in order through a promise chain, so a resume and a live update never interleave.
 *
 * It also keeps the user's own flood limits (docs/architecture.md, "Flood control"): the
 * budget for sends across every channel, which the channels report to (`reportSends`), the
 * per-user limits of the Worker's routes (`takeLimit`, `admitConnect`), and each user socket's
 * frame budgets.
 */
import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { type Limits, readLimits, USER_LIMITS, type UserLimit } from "../../domain/limits.ts";
import { heartbeatInterval, type PresenceStatus, sweepSpread } from "../../domain/presence.ts";
import { Bucket, charge, waitMs } from "../../domain/rate-limit.ts";
import { phaseOf } from "../../domain/slots.ts";
import migrations from "../../migrations/user-inbox/migrations.js";
import { errorText, log, stackOf } from "../../observability/log.ts";
import { type Metrics, metricsOf } from "../../observability/metrics.ts";
import { CLOSE } from "../../protocol/close-codes.ts";
import { ChatError, rateLimited } from "../../protocol/errors.ts";
import {
  type ChannelSummary,
  checkClientFrame,
  DEFAULT_PAGE_MESSAGES,
  decodeClientFrame,
  errorFrame,
  type FriendFrameState,
  HEARTBEAT,
  type PublicUser,
  type ServerFrame,
} from "../../protocol/frames.ts";
import { newId } from "../../protocol/ids.ts";
import type { InboxUpdate, InboxUpdateResult } from "../../protocol/rpc.ts";
import { openDb } from "../../storage/d1/db.ts";
import { friendIdsOf } from "../../storage/d1/friends.ts";
import { findDevice } from "../../storage/d1/users.ts";
import { InboxStore, toSummary } from "../../storage/user/store.ts";
import { Fanout } from "../channel-room/fanout.ts";
import { QUIET_WINDOW_MS } from "../channel-room/member-updates.ts";
import { type RpcResult, rpcCall, unwrap } from "../rpc.ts";
import {
  answerUpgrade,
  attachmentOf,
  closeQuietly,
  type SocketAttachment,
  sendBounded,
  sendQuietly,
} from "../socket-identity.ts";
import { SocketLimits } from "../socket-limits.ts";
import { DeviceStreams } from "./device-streams.ts";
import { Presence } from "./presence.ts";
import { Pushes } from "./pushes.ts";

/**
 * What woke UserInbox objects in this isolate: constructions (a start after hibernation or
 * eviction), sweep alarms and socket messages (a heartbeat must never be one of these).
 * Read by the presence benchmark and tests; wake-ups are what a hibernating object costs.
 */
const wakeups = { constructions: 0, alarms: 0, socketMessages: 0 };

/**
 * How long the store's batched changes (channel copies, stream positions) may wait in memory;
 * a pending timer also keeps the object from hibernating before they are written.
 */
const SAVE_BATCH_MS = 1_000;

export function inboxConstructions(): number {
  return wakeups.constructions;
}

/** The per-user limits in words, for the refusal's message. */
const LIMIT_WORDS: Record<UserLimit, string> = {
  connect: "connections",
  friend_request: "friend requests",
  group_create: "new groups",
  presence_read: "presence reads",
  push_change: "push subscription changes",
  write: "changes",
  upload: "uploads",
  upload_bytes: "uploaded bytes",
  search: "searches",
  export: "data exports",
};

export class UserInbox extends DurableObject<Env> {
  readonly #store: InboxStore;
  readonly #streams: DeviceStreams;
  readonly #pushes: Pushes;
  /** When each channel last updated this user (memory only; see #tellRecentChannels). */
  readonly #lastUpdate = new Map<string, number>();
  /**
   * Channels that saw every device of this user viewing them at their last update, and so
   * fold its updates over their long window (memory only; see #tellRecentChannels).
   */
  readonly #viewedByAll = new Set<string>();
  /**
   * Channels where a device of this user opened a channel socket since a device last
   * connected: they may have started folding this user's updates as a viewer's before any
   * update told this object so (memory only; see #tellRecentChannels).
   */
  readonly #viewingOpened = new Set<string>();
  readonly #presence: Presence;
  #saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** Per channel, the highest seq this user's devices acknowledged and the channel has yet to hear of. */
  readonly #deliveredOwed = new Map<string, number>();
  /**
   * Forwards those acknowledgements to each channel, the first at once and then at most one
   * call per receipts interval: every device sends `delivered` every half second while messages
   * arrive, and the channel shows markers no more often than once an interval anyway.
   */
  readonly #deliveredFold: Fanout;
  /**
   * Test seam for fault injection (never set in production): `revokeDevices` fails before its
   * work (as an unreachable object would) or after it (as a call whose answer is lost would).
   * Memory only.
   */
  readonly faults: { failRevocation: "before" | "after" | null } = { failRevocation: null };
  readonly #limits: Limits;
  /** The user's sends across every channel, as the channels report them (GCRA `tat`). */
  #sendsTat = 0;
  /** The per-user limits of the Worker's routes, one bucket each. */
  readonly #userLimits = new Map<UserLimit, Bucket>();
  /** No ticket before this time: a socket of this user was just closed for flooding. */
  #connectsPausedUntil = 0;
  /** Each user socket's frame budgets (memory only: after hibernation a socket starts afresh). */
  readonly #socketLimits = new WeakMap<WebSocket, SocketLimits>();
  readonly #metrics: Metrics;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    wakeups.constructions++;
    this.#limits = readLimits(env);
    this.#metrics = metricsOf(env);
    this.#store = new InboxStore(ctx.storage.sql, () => this.#saveSoon());
    this.#pushes = new Pushes({
      store: this.#store,
      userId: ctx.id.name ?? "",
      online: () => this.#openSockets().length > 0,
      now: () => Date.now(),
      enqueue: async (job) => {
        await env.PUSH_QUEUE.send(job);
      },
    });
    this.#streams = new DeviceStreams({
      store: this.#store,
      maxBuffered: this.#limits.socketBufferBytes,
      readAfter: (channelId, userId, afterSeq) =>
        unwrap(env.CHANNEL_ROOM.getByName(channelId).readAfter(userId, afterSeq, DEFAULT_PAGE_MESSAGES)),
    });
    this.#deliveredFold = new Fanout({
      windowMs: () => Number(env.RECEIPTS_INTERVAL_MS),
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      send: (channelId) => this.#forwardDelivered(channelId),
      onError: (channelId, err) =>
        log.warn("inbox.delivered_not_forwarded", { channel_id: channelId, error: errorText(err) }),
    });
    this.#presence = new Presence({
      store: this.#store,
      config: { timeoutMs: Number(env.PRESENCE_TIMEOUT_MS) },
      sweepSlot: phaseOf(ctx.id.name ?? "", sweepSpread(Number(env.PRESENCE_TIMEOUT_MS))),
      now: () => Date.now(),
      sockets: () =>
        this.#openSockets().map(({ ws, a }) => ({
          ws,
          liveness: {
            connectedAt: a.connectedAt,
            lastHeartbeatAt: ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? null,
          },
        })),
      closeDead: (ws) => closeQuietly(ws, CLOSE.heartbeatTimeout, "no heartbeat"),
      setAlarm: (at) => void this.#alarmNoLaterThan(at),
      publish: (status, lastActiveAt) => this.#publishPresence(status, lastActiveAt),
    });
    // Heartbeats are answered by the runtime without waking this object (issue #4).
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT.request, HEARTBEAT.response));
    void ctx.blockConcurrencyWhile(async () => {
      await migrate(drizzle(ctx.storage), migrations);
    });
  }

  // -------------------------------------------------------------------------------------------
  // The user socket.

  override async fetch(request: Request): Promise<Response> {
    return answerUpgrade(request, (id) => {
      this.#admit(id.ticketId, id.ticketExpiresAt, id.deviceId);
      for (const old of this.ctx.getWebSockets(id.deviceId)) {
        closeQuietly(old, CLOSE.replaced, "replaced by a newer connection of this device");
      }
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, [id.deviceId]);
      server.serializeAttachment({
        v: 1,
        userId: id.userId,
        deviceId: id.deviceId,
        connectedAt: Date.now(),
      } satisfies SocketAttachment);
      this.#store.clearStreams(id.deviceId);
      this.#tellRecentChannels(id.userId);
      this.ctx.waitUntil(this.#presence.connected());
      server.send(
        JSON.stringify({
          v: 1,
          type: "hello",
          socket: "user",
          user_id: id.userId,
          device_id: id.deviceId,
          heartbeat_ms: heartbeatInterval(Number(this.env.PRESENCE_TIMEOUT_MS)),
        } satisfies ServerFrame),
      );
      return client;
    });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    wakeups.socketMessages++;
    // Closed here already (revoked, replaced, flooding): what it sent meanwhile is dropped.
    if (ws.readyState !== WebSocket.OPEN) return;
    const a = attachmentOf(ws);
    if (!a) return closeQuietly(ws, CLOSE.revoked, "unknown socket");
    const decoded = decodeClientFrame(raw);
    // Every frame counts against the socket's budgets before its schema is checked.
    let limits = this.#socketLimits.get(ws);
    if (!limits) {
      limits = new SocketLimits(this.#limits);
      this.#socketLimits.set(ws, limits);
    }
    const now = Date.now();
    const over = limits.admit(decoded.ok ? decoded.frame.type : undefined, now);
    if (over) {
      this.#metrics.rateLimited(over.what, "user_socket", over.retryAfterMs);
      sendQuietly(
        ws,
        JSON.stringify(
          errorFrame(rateLimited(over.what, over.retryAfterMs), decoded.ok ? decoded.frame.ref : decoded.ref),
        ),
      );
      // Still sending after its refusals: not listening. Closed; it may reconnect and resume,
      // after LIMIT_FLOOD_PAUSE_MS.
      if (limits.refused(now)) {
        closeQuietly(ws, CLOSE.flooding, "too many frames after being refused; reconnect later");
        await this.flooded();
      }
      return;
    }
    const parsed = decoded.ok ? checkClientFrame("user", decoded.frame) : decoded;
    if (!parsed.ok) return void ws.send(JSON.stringify(errorFrame(parsed.error, parsed.ref)));
    const frame = parsed.frame;
    if (frame.type === "delivered") return this.#delivered(frame.cursors);
    const resumed = await this.#streams.resume({ ws, a }, frame).catch((err) => {
      sendQuietly(ws, JSON.stringify(errorFrame(this.#asChatError(err), frame.id)));
      return null;
    });
    if (resumed) this.#metrics.resume(resumed.messages, resumed.channels, Date.now() - now);
  }

  /** DELIVERED acknowledgements from a device, for each channel (the authority), folded. */
  #delivered(cursors: { channel_id: string; seq: number }[]): void {
    for (const c of cursors) {
      if (!this.#store.channel(c.channel_id)) continue;
      this.#deliveredOwed.set(c.channel_id, Math.max(c.seq, this.#deliveredOwed.get(c.channel_id) ?? 0));
      this.#deliveredFold.notify([c.channel_id]);
    }
  }

  async #forwardDelivered(channelId: string): Promise<void> {
    const seq = this.#deliveredOwed.get(channelId);
    const userId = this.ctx.id.name;
    if (seq === undefined || !userId) return;
    this.#deliveredOwed.delete(channelId);
    await unwrap(this.env.CHANNEL_ROOM.getByName(channelId).markDelivered(userId, seq));
  }

  override async webSocketClose(): Promise<void> {
    this.#presence.disconnected();
  }

  override async webSocketError(): Promise<void> {
    this.#presence.disconnected();
  }

  /** The presence sweep, the only alarm of this object. */
  override async alarm(): Promise<void> {
    wakeups.alarms++;
    const before = this.#openSockets().length;
    await this.#presence.sweep();
    const live = this.#openSockets().length;
    this.#metrics.presenceWakeup(this.#presence.current().status, before - live, live);
  }

  /** This isolate's UserInbox wake-up counters (the call itself wakes this one object). */
  async wakeups(): Promise<{ constructions: number; alarms: number; socketMessages: number }> {
    return { ...wakeups };
  }

  // -------------------------------------------------------------------------------------------
  // RPC.

  /**
   * From a ChannelRoom: this user's copy of the channel, and new messages for its devices.
   * Answers which devices hold a user socket, so the channel can tell whether they need it.
   */
  async applyChannelUpdate(u: InboxUpdate): Promise<InboxUpdateResult> {
    const open = this.#openSockets();
    const sockets = open.map((o) => o.ws);
    const devices = open.map((o) => o.a.deviceId);
    if (u.removed) {
      this.#store.deleteChannel(u.channel_id);
      const frame = JSON.stringify({
        v: 1,
        type: "channel",
        channel: this.#removedSummary(u),
        removed: true,
      } satisfies ServerFrame);
      for (const ws of sockets) this.#send(ws, frame);
      return { devices };
    }
    this.#lastUpdate.set(u.channel_id, Date.now());
    if (devices.length > 0 && devices.every((d) => u.viewing_devices.includes(d)))
      this.#viewedByAll.add(u.channel_id);
    else this.#viewedByAll.delete(u.channel_id);
    const before = this.#store.channel(u.channel_id);
    this.#store.applyUpdate(u, Date.now());
    const after = this.#store.channel(u.channel_id);
    if (after && (!before || before.name !== after.name || before.readSeq !== after.readSeq)) {
      const frame = JSON.stringify({
        v: 1,
        type: "channel",
        channel: toSummary(after),
      } satisfies ServerFrame);
      for (const ws of sockets) this.#send(ws, frame);
    }
    if (open.length === 0) await this.#pushes.offline(u.channel_id, u.messages);
    else await this.#streams.deliver(open, u.channel_id, u.messages, new Set(u.viewing_devices), u.prev_hash);
    return { devices };
  }

  /**
   * The push consumer finished a job of this user for a channel (sent, dropped or given up):
   * the channel may have its next notification queued.
   */
  async pushSettled(channelId: string, seq: number): Promise<void> {
    await this.#pushes.settled(channelId, seq);
  }

  /**
   * The push consumer is about to retry this user's job for (channel, seq), attempt `attempt`:
   * false drops it for every device (a device is connected, or the message was read). This
   * object decides from what it holds; no D1 read.
   */
  async pushRetryWanted(channelId: string, seq: number, attempt: number): Promise<boolean> {
    return this.#pushes.retryWanted(channelId, seq, attempt);
  }

  /** Attempts the push consumer made at the job for (channel, seq), for its dead-letter record. */
  async pushAttempts(channelId: string, seq: number): Promise<number | null> {
    return this.#pushes.attempts(channelId, seq);
  }

  /** My conversations, most recent first, with unread counts. */
  async listChannels(): Promise<ChannelSummary[]> {
    return this.#store.channels().map(toSummary);
  }

  /** Whether the channel is in this user's list. */
  async hasChannel(channelId: string): Promise<boolean> {
    return this.#store.channel(channelId) !== null;
  }

  /**
   * `POST /v1/connect`, before a ticket is issued: refuses a signed-out device, counts the
   * connect (LIMIT_CONNECTS_PER_USER; every upgrade needs a fresh single-use ticket, so this
   * bounds upgrades too) and, for a channel ticket, says whether the channel is in this user's
   * list. The Worker's route reads no D1 for it (workers/middleware/auth.ts, `requireToken`).
   */
  async admitConnect(deviceId: string, channelId: string | null): Promise<RpcResult<boolean>> {
    return rpcCall(async () => {
      await this.#refuseSignedOut(deviceId);
      this.#take("connect");
      return channelId !== null && this.#store.channel(channelId) !== null;
    });
  }

  /**
   * An authenticated request of this user's device (workers/middleware/auth.ts): refused once
   * the device is signed out, or when it is not this user's. Every sign-out reaches this object
   * before D1 (workers/sessions.ts, `signOutDevices`), so this object says at once whether a
   * validly signed token's device is still in; D1 is read once per device, the first time this
   * object hears of it, to know that it is one of this user's.
   */
  async admitRequest(deviceId: string): Promise<RpcResult<void>> {
    return rpcCall(() => this.#refuseSignedOut(deviceId));
  }

  /**
   * A socket of this user was closed for flooding (4029): its tickets are refused for
   * LIMIT_FLOOD_PAUSE_MS, the pause a client must take before reconnecting. A flooder that
   * reconnected at once would otherwise have a fresh socket's worth of frames read as often as
   * it may connect: the runtime reads, and hands to the object, every frame already on its way
   * after a close too (about 10 µs each locally, however cheaply it is dropped).
   */
  async flooded(): Promise<void> {
    this.#connectsPausedUntil = Date.now() + this.#limits.floodPauseMs;
  }

  /** One request under a per-user limit of the Worker's routes; refused with its retry time. */
  /** Takes `cost` (1 but for byte budgets) from one of the user's limits, or refuses. */
  async takeLimit(kind: UserLimit, cost = 1): Promise<RpcResult<void>> {
    return rpcCall(() => this.#take(kind, cost));
  }

  /**
   * A channel stored `count` more messages of this user (SendLimits, reported at most once a
   * second per channel). The user's budget across channels is charged with them, into debt if
   * they went over it; the answer is how long the channel must refuse the user's sends (0:
   * none). Every channel the user posts to learns it with its next report.
   */
  async reportSends(count: number): Promise<number> {
    const now = Date.now();
    this.#sendsTat = charge(this.#sendsTat, now, this.#limits.sendsPerUser, count);
    return waitMs(this.#sendsTat, now, this.#limits.sendsPerUser);
  }

  #bucket(kind: UserLimit): Bucket {
    let bucket = this.#userLimits.get(kind);
    if (!bucket) {
      bucket = new Bucket(this.#limits[USER_LIMITS[kind]]);
      this.#userLimits.set(kind, bucket);
    }
    return bucket;
  }

  #take(kind: UserLimit, cost = 1): void {
    const paused = this.#connectsPausedUntil - Date.now();
    if (kind === "connect" && paused > 0) throw rateLimited("frames refused on a socket just closed", paused);
    const wait = this.#bucket(kind).take(Date.now(), cost);
    if (wait > 0) throw rateLimited(LIMIT_WORDS[kind], wait);
  }

  /** Sends to a user socket; one that stopped reading is closed (CLOSE.tooSlow) and resumes later. */
  #send(ws: WebSocket, text: string): void {
    sendBounded(ws, text, this.#limits.socketBufferBytes);
  }

  /** Checks a channel socket's ticket (single use, device not revoked) before its upgrade. */
  async admitChannelSocket(ticketId: string, expiresAt: number, deviceId: string): Promise<RpcResult<void>> {
    return rpcCall(() => this.#admit(ticketId, expiresAt, deviceId));
  }

  /**
   * The channel accepted a socket of this device: remember where, so that revoking the device
   * closes it and a device connecting hurries that channel's updates. Told only after the
   * upgrade succeeded, so a refused one leaves nothing here. False when the device was revoked
   * since its ticket was admitted: the caller closes the socket it just opened.
   */
  async channelSocketOpened(deviceId: string, channelId: string): Promise<boolean> {
    if (this.#store.isRevoked(deviceId)) return false;
    this.#store.recordChannelSocket(deviceId, channelId, Date.now());
    this.#viewingOpened.add(channelId);
    return true;
  }

  /**
   * Signed out or revoked: close every socket of these devices and refuse their tickets.
   * Idempotent: a retry after a failed call finishes the job.
   */
  async revokeDevices(deviceIds: string[]): Promise<void> {
    if (this.faults.failRevocation === "before") throw new Error("fault injected: revocation fails");
    const now = Date.now();
    await Promise.all(
      deviceIds.map(async (deviceId) => {
        this.#store.revoke(deviceId, now);
        for (const ws of this.ctx.getWebSockets(deviceId))
          closeQuietly(ws, CLOSE.revoked, "this device was signed out");
        // Forgotten only once every channel has closed its sockets: a failed call is tried again.
        const channels = this.#store.channelSocketsOf(deviceId);
        await Promise.all(
          channels.map((ch) => this.env.CHANNEL_ROOM.getByName(ch).disconnectDevice(deviceId)),
        );
        this.#store.forgetChannelSockets(deviceId);
      }),
    );
    if (this.faults.failRevocation === "after") throw new Error("fault injected: revocation's answer lost");
  }

  /**
   * A device connected. Some channels may be folding this user's updates on the belief that
   * no device needs a live copy: those that updated it within the last second (no device was
   * connected), those that saw all its devices viewing them, and those where a device opened a
   * channel socket since (they may have started folding before any update said so). Tell them,
   * so they send now and ask again. Any other channel sends its next update at once anyway, so
   * a reconnect costs a few calls, never one per channel.
   */
  #tellRecentChannels(userId: string): void {
    const since = Date.now() - QUIET_WINDOW_MS;
    const folding = new Set([...this.#viewedByAll, ...this.#viewingOpened]);
    for (const [channelId, at] of this.#lastUpdate) if (at >= since) folding.add(channelId);
    this.#lastUpdate.clear();
    this.#viewedByAll.clear();
    this.#viewingOpened.clear();
    for (const channelId of folding) {
      this.ctx.waitUntil(
        this.env.CHANNEL_ROOM.getByName(channelId)
          .deviceConnected(userId)
          .catch((err) =>
            log.warn("inbox.device_connected_not_told", { channel_id: channelId, error: errorText(err) }),
          ),
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Presence: published to friends (publish/subscribe per friendship) and to channels someone
  // is viewing; friends' presence is kept here as they publish it.

  /** What others see of this user (before any per-viewer rule, such as a block). */
  async presence(): Promise<{ status: PresenceStatus; last_active_at: number }> {
    return this.#presence.visible();
  }

  /** Push notifications of this channel on or off; false when the user is not in it. */
  async setMuted(channelId: string, muted: boolean): Promise<boolean> {
    return this.#store.setMuted(channelId, muted);
  }

  async setHidePreviews(hide: boolean): Promise<void> {
    this.#store.setHidePreviews(hide);
  }

  async setInvisible(invisible: boolean): Promise<void> {
    await this.#presence.setInvisible(invisible);
  }

  /** My friends' presence, as they last published it. */
  async friendPresence(): Promise<Record<string, { status: PresenceStatus; last_active_at: number }>> {
    return Object.fromEntries(
      this.#store
        .friendPresence()
        .map((f) => [f.userId, { status: f.status, last_active_at: f.lastActiveAt }]),
    );
  }

  /** A friend published a change: keep it and tell my connected devices. */
  async presenceChanged(userId: string, status: PresenceStatus, lastActiveAt: number): Promise<void> {
    this.#store.setFriendPresence(userId, status, lastActiveAt);
    const frame = JSON.stringify({
      v: 1,
      type: "presence",
      user_id: userId,
      status,
      last_active_at: lastActiveAt,
    } satisfies ServerFrame);
    for (const { ws } of this.#openSockets()) this.#send(ws, frame);
  }

  /**
   * A relation of this user changed (a request, an acceptance, a decline, an unfriending, a
   * block): tell the connected devices. Nothing is kept: a device reads `GET /v1/friends` after
   * each connection and applies these frames on top, as with presence.
   */
  async friendChanged(user: PublicUser, state: FriendFrameState, since: number): Promise<void> {
    const frame = JSON.stringify({ v: 1, type: "friend", user, state, since } satisfies ServerFrame);
    for (const { ws } of this.#openSockets()) this.#send(ws, frame);
  }

  /** A new friend: send them what they may see of me now. */
  async sharePresenceWith(friendId: string): Promise<void> {
    const { status, last_active_at } = this.#presence.visible();
    await this.env.USER_INBOX.getByName(friendId).presenceChanged(
      this.ctx.id.name ?? "",
      status,
      last_active_at,
    );
  }

  /** No longer friends: forget what they published. */
  async forgetPresenceOf(userId: string): Promise<void> {
    this.#store.forgetFriendPresence(userId);
  }

  /** A channel with viewers wants my presence changes until `until` (it renews). */
  async watchPresence(channelId: string, until: number): Promise<void> {
    this.#store.watch(channelId, until);
  }

  async #publishPresence(status: PresenceStatus, lastActiveAt: number): Promise<void> {
    const userId = this.ctx.id.name;
    if (!userId) return;
    const friends = await friendIdsOf(openDb(this.env.DB), userId);
    const channels = this.#store.watchers(Date.now());
    // Best effort per recipient: one unreachable friend must not hold back the others.
    const sent = await Promise.allSettled([
      ...friends.map((f) => this.env.USER_INBOX.getByName(f).presenceChanged(userId, status, lastActiveAt)),
      ...channels.map((ch) =>
        this.env.CHANNEL_ROOM.getByName(ch).presenceChanged(userId, status, lastActiveAt),
      ),
    ]);
    const failed = sent.filter((r) => r.status === "rejected").length;
    if (failed > 0) log.warn("presence.publish_partial", { user_id: userId, failed, of: sent.length });
  }

  /** Writes what the store keeps in memory for its batch within SAVE_BATCH_MS (InboxStore.persistBatched). */
  #saveSoon(): void {
    if (this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = null;
      this.#store.persistBatched();
    }, SAVE_BATCH_MS);
  }

  /**
   * Moves the sweep earlier, never later: connects and closes must not keep postponing the
   * sweep that finds a silently dead socket. A due or past alarm is simply replaced.
   */
  async #alarmNoLaterThan(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at || current <= Date.now()) await this.ctx.storage.setAlarm(at);
  }

  #openSockets(): { ws: WebSocket; a: SocketAttachment }[] {
    return this.ctx.getWebSockets().flatMap((ws) => {
      const a = attachmentOf(ws);
      return a && ws.readyState === WebSocket.OPEN ? [{ ws, a }] : [];
    });
  }

  // -------------------------------------------------------------------------------------------
  // Per-device streams.

  #refuseRevoked(deviceId: string): void {
    if (this.#store.isRevoked(deviceId)) throw new ChatError("unauthenticated", "this device is signed out");
  }

  /**
   * Refuses a revoked device, and a device this user does not have. The devices known to be
   * this user's are a key each in the object's key-value storage (no SQL migration for a set
   * that is only ever looked up); a device is looked up in D1 the first time it is seen here,
   * signed in then (after sign-up or login, or from before this object kept the set). Revoked
   * is checked first, so a device known once is refused at once after its sign-out.
   */
  async #refuseSignedOut(deviceId: string): Promise<void> {
    this.#refuseRevoked(deviceId);
    const key = `device:${deviceId}`;
    if (this.ctx.storage.kv.get(key) !== undefined) return;
    const userId = this.ctx.id.name;
    const row = userId ? await findDevice(openDb(this.env.DB), userId, deviceId) : undefined;
    if (!row || row.revokedAt !== null) throw new ChatError("unauthenticated", "this device is signed out");
    this.#refuseRevoked(deviceId);
    this.ctx.storage.kv.put(key, 1);
  }

  #admit(ticketId: string, expiresAt: number, deviceId: string): void {
    const now = Date.now();
    if (expiresAt < now) throw new ChatError("ticket_invalid", "the ticket has expired");
    this.#refuseRevoked(deviceId);
    if (!this.#store.useTicket(ticketId, expiresAt, now))
      throw new ChatError("ticket_used", "this ticket was already used");
  }

  #removedSummary(u: InboxUpdate): ChannelSummary {
    return {
      channel_id: u.channel_id,
      kind: u.kind,
      name: u.name,
      head_seq: u.head_seq,
      head_msg_count: u.head_msg_count,
      read_seq: u.read_seq,
      unread: 0,
      muted: false,
      last_message: null,
    };
  }

  #asChatError(err: unknown): ChatError {
    if (err instanceof ChatError) return err;
    const ref = newId();
    log.error("inbox.internal_error", {
      ref,
      user_id: this.ctx.id.name,
      error: errorText(err),
      stack: stackOf(err),
    });
    return new ChatError("internal", `something went wrong (ref ${ref})`);
  }
}
