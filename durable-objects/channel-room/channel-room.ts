/**
 * @module durable-objects/channel-room
 * One Durable Object per conversation (a 1:1 pair or a group): the single writer of its log
 * and the authority for its members and their read markers.
 *
 * A message's path through here (docs/architecture.md draws it whole):
 * validate → store (seq and row in one transaction) → ack the sender → broadcast to the
 * channel sockets held here → tell each member's UserInbox, batched by `Fanout`.
 * What each member's user object still lacks is derived from storage (`synced_seq` behind
 * `head_seq`), so an update lost to a crash is simply still owed, and the alarm sends it.
 */
import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { checkAdd, checkRemove, checkRename, nextOwner, requireMember } from "../../domain/membership.ts";
import { checkMessageText } from "../../domain/message-text.ts";
import migrations from "../../migrations/channel-room/migrations.js";
import type { Ack, ChannelInfo } from "../../protocol/api.ts";
import { MAX_GROUP_MEMBERS } from "../../protocol/api.ts";
import { CLOSE } from "../../protocol/close-codes.ts";
import { ChatError } from "../../protocol/errors.ts";
import {
  DEFAULT_PAGE_MESSAGES,
  errorFrame,
  HEARTBEAT,
  MAX_PAGE_MESSAGES,
  parseClientFrame,
  type ServerFrame,
  SUBPROTOCOL,
  type WireMessage,
} from "../../protocol/frames.ts";
import { newId } from "../../protocol/ids.ts";
import type { CreateChannelInput, HistoryPage, InboxUpdate, ReadAfterResult } from "../../protocol/rpc.ts";
import { type ChannelRow, ChannelStore, type MemberRow } from "../../storage/channel/store.ts";
import { openDb } from "../../storage/d1/db.ts";
import { writeChannelMirror } from "../../storage/d1/memberships.ts";
import { type RpcResult, rpcCall } from "../rpc.ts";
import {
  attachmentOf,
  closeQuietly,
  readIdentity,
  refuseUpgrade,
  type SocketAttachment,
  sendQuietly,
} from "../socket-identity.ts";
import { Fanout } from "./fanout.ts";

/** Messages per update to a user object; more follow in the next call. */
const UPDATE_PAGE = 200;
/**
 * The fold window for a member that needs no live copy from its user object: every device it
 * has connected is viewing this channel (or none is connected). Its user object still learns
 * heads and read markers, just less often; a device that (re)connects resumes exactly anyway.
 */
export const QUIET_WINDOW_MS = 1_000;
/**
 * CPU budget for live updates: a channel spends about this much per fast update call, so the
 * fold window widens to keep fast calls under ~500/s when many members need a live copy.
 * (Locally every object shares one thread; see docs/performance.md.)
 */
const FAST_CALL_BUDGET_MS = 2;
/** How often sync positions reach storage (they are re-derivable; see ChannelStore.markSynced). */
const SAVE_SYNC_MS = 1_000;
/** Backstop for updates the fan-out could not send: the first retry, doubled up to a minute. */
const RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

interface SocketState {
  userId: string;
  deviceId: string;
  /** The last seq this socket has; live broadcasts go only to a socket that is contiguous. */
  sentSeq: number | null;
}

export class ChannelRoom extends DurableObject<Env> {
  readonly #store: ChannelStore;
  readonly #fanout: Fanout;
  readonly #sockets = new Map<WebSocket, SocketState>();
  #alarmAt: number | null = null;
  #saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** Per member, the devices its user object last reported connected (unknown: absent). */
  readonly #inboxDevices = new Map<string, string[]>();
  #retries = 0;
  /**
   * Test seam for fault injection (never set in production): while true, every update to a
   * user object fails as if the process had died between the ack and the fan-out. It lives
   * in memory only, so an eviction or restart clears it, as a real crash would.
   */
  readonly faults = { failUserUpdates: false };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new ChannelStore(ctx.storage.sql);
    this.#fanout = new Fanout({
      windowMs: (userId) => this.#windowFor(userId),
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      send: (userId) => this.#updateMember(userId),
      onError: (userId, err) => this.#retryLater(`update of ${userId}`, err),
    });
    // Heartbeats are answered by the runtime without waking this object (issue #4).
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT.request, HEARTBEAT.response));
    void ctx.blockConcurrencyWhile(async () => {
      await migrate(drizzle(ctx.storage), migrations);
      const head = this.#store.channel()?.headSeq ?? 0;
      // After hibernation: a socket that was live was at the head (nothing runs while idle);
      // one that was mid-sync resumes with its next sync request.
      for (const ws of ctx.getWebSockets()) {
        const a = attachmentOf(ws);
        if (a)
          this.#sockets.set(ws, { userId: a.userId, deviceId: a.deviceId, sentSeq: a.syncing ? null : head });
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // WebSocket: upgrade, frames, close.

  override async fetch(request: Request): Promise<Response> {
    try {
      const id = readIdentity(request);
      const channel = this.#requireChannel();
      this.#requireActive(id.userId);
      for (const old of this.ctx.getWebSockets(id.deviceId)) {
        this.#sockets.delete(old);
        closeQuietly(old, CLOSE.replaced, "replaced by a newer connection of this device");
      }
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, [id.userId, id.deviceId]);
      server.serializeAttachment({
        v: 1,
        userId: id.userId,
        deviceId: id.deviceId,
        connectedAt: Date.now(),
      } satisfies SocketAttachment);
      this.#sockets.set(server, { userId: id.userId, deviceId: id.deviceId, sentSeq: channel.headSeq });
      server.send(
        JSON.stringify({
          v: 1,
          type: "hello",
          socket: "channel",
          user_id: id.userId,
          device_id: id.deviceId,
          channel_id: channel.channelId,
          head_seq: channel.headSeq,
          heartbeat_ms: 5_000,
        } satisfies ServerFrame),
      );
      const headers = new Headers();
      if (request.headers.get("sec-websocket-protocol")?.includes(SUBPROTOCOL)) {
        headers.set("sec-websocket-protocol", SUBPROTOCOL);
      }
      return new Response(null, { status: 101, webSocket: client, headers });
    } catch (err) {
      if (err instanceof ChatError) return refuseUpgrade(err);
      throw err;
    }
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const socket = this.#sockets.get(ws);
    if (!socket) return closeQuietly(ws, CLOSE.removed, "unknown socket");
    const parsed = parseClientFrame("channel", raw);
    if (!parsed.ok) return void ws.send(JSON.stringify(errorFrame(parsed.error, parsed.ref)));
    const frame = parsed.frame;
    try {
      switch (frame.type) {
        case "send": {
          const { message, fresh } = this.#append(socket.userId, frame.client_msg_id, frame.text);
          // The write above is part of this event's implicit transaction, and the runtime's
          // output gate holds every outgoing frame until that transaction is durable. So the
          // ack can be sent now: if the write were lost, the ack would never leave.
          ws.send(
            JSON.stringify({
              v: 1,
              type: "ack",
              ...this.#ack(message),
              ...(frame.id && { ref: frame.id }),
            } satisfies ServerFrame),
          );
          if (fresh) this.#deliver(message, ws);
          return;
        }
        case "sync":
          return this.#sync(ws, socket, frame.after_seq, frame.limit ?? DEFAULT_PAGE_MESSAGES, frame.id);
        case "read":
          this.#markRead(socket.userId, frame.seq);
          return;
      }
    } catch (err) {
      ws.send(JSON.stringify(errorFrame(this.#asChatError(err), frame.id)));
    }
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.#sockets.delete(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#sockets.delete(ws);
  }

  // -------------------------------------------------------------------------------------------
  // RPC from the Worker and from user objects.

  /** Creates the channel; for a 1:1 pair, returns the existing one when called again. */
  async create(input: CreateChannelInput): Promise<RpcResult<ChannelInfo>> {
    return rpcCall(async () => {
      const existing = this.#store.channel();
      if (existing) return this.#info(input.memberIds[0]!);
      if (input.memberIds.length > MAX_GROUP_MEMBERS) {
        throw new ChatError("group_full", `a group has at most ${MAX_GROUP_MEMBERS} members`);
      }
      const now = Date.now();
      this.ctx.storage.transactionSync(() => {
        this.#store.createChannel({ ...input, createdAt: now });
        for (const userId of input.memberIds) {
          this.#store.putMember(userId, userId === input.ownerId ? "owner" : "member", now, 0);
        }
      });
      await this.#afterMembershipChange(input.memberIds);
      return this.#info(input.memberIds[0]!);
    });
  }

  async info(actorId: string): Promise<RpcResult<ChannelInfo>> {
    return rpcCall(() => this.#info(actorId));
  }

  async rename(actorId: string, name: string): Promise<RpcResult<ChannelInfo>> {
    return rpcCall(async () => {
      checkRename(this.#activeMembers(), actorId);
      this.#requireGroup();
      this.#store.touchMeta({ name });
      this.#store.touchAllMembers();
      await this.#afterMembershipChange(this.#activeMembers().map((m) => m.userId));
      return this.#info(actorId);
    });
  }

  async addMembers(actorId: string, userIds: string[]): Promise<RpcResult<ChannelInfo>> {
    return rpcCall(async () => {
      this.#requireGroup();
      const fresh = checkAdd(this.#activeMembers(), actorId, userIds);
      const head = this.#requireChannel().headSeq;
      const now = Date.now();
      // New members read history from now on: joined_seq is the current head.
      for (const userId of fresh) this.#store.putMember(userId, "member", now, head);
      if (fresh.length > 0) this.#store.touchMeta();
      await this.#afterMembershipChange(fresh);
      return this.#info(actorId);
    });
  }

  /** Removes a member, or lets one leave (actor = target); returns null when the actor left. */
  async removeMember(actorId: string, targetId: string): Promise<RpcResult<ChannelInfo | null>> {
    return rpcCall(async () => {
      this.#requireGroup();
      const members = this.#activeMembers();
      checkRemove(members, actorId, targetId);
      const target = requireMember(members, targetId);
      if (target.role === "owner") {
        const heir = nextOwner(members, targetId);
        if (heir) this.#store.setRole(heir, "owner");
        this.#store.touchMeta({ ownerId: heir ?? null });
      } else {
        this.#store.touchMeta();
      }
      this.#store.markRemoved(targetId, Date.now());
      for (const ws of this.ctx.getWebSockets(targetId)) {
        this.#sockets.delete(ws);
        closeQuietly(ws, CLOSE.removed, "you are no longer a member of this channel");
      }
      await this.#afterMembershipChange([targetId]);
      return actorId === targetId ? null : this.#info(actorId);
    });
  }

  /** A member of this 1:1 channel blocked (or unblocked) the other: while blocked, nobody posts. */
  async setBlocked(userId: string, blocked: boolean): Promise<void> {
    const c = this.#store.channel();
    if (c?.kind === "dm" && this.#store.member(userId)) this.#store.setBlocked(userId, blocked);
  }

  /** Posts over HTTP: the same path as a channel socket's `send`. */
  async post(senderId: string, clientMsgId: string, text: string): Promise<RpcResult<Ack>> {
    return rpcCall(() => {
      const { message, fresh } = this.#append(senderId, clientMsgId, text);
      if (fresh) this.#deliver(message, null);
      return this.#ack(message);
    });
  }

  /** A page of history, newest first by default, or forwards from `after`. Members only. */
  async history(
    userId: string,
    q: { before?: number; after?: number; limit: number },
  ): Promise<RpcResult<HistoryPage>> {
    return rpcCall(() => {
      const member = this.#requireActive(userId);
      const channel = this.#requireChannel();
      const rows =
        q.after !== undefined
          ? this.#store.after(Math.max(q.after, member.joinedSeq), q.limit + 1)
          : this.#store.before(q.before ?? channel.headSeq + 1, member.joinedSeq, q.limit + 1);
      const has_more = rows.length > q.limit;
      const messages =
        q.after !== undefined ? rows.slice(0, q.limit) : rows.slice(rows.length > q.limit ? 1 : 0);
      return { channel_id: channel.channelId, messages, has_more };
    });
  }

  async markRead(userId: string, seq: number): Promise<RpcResult<{ channel_id: string; read_seq: number }>> {
    return rpcCall(() => ({
      channel_id: this.#requireChannel().channelId,
      read_seq: this.#markRead(userId, seq),
    }));
  }

  /** For a user object resuming a device: the member's messages after `afterSeq`. */
  async readAfter(userId: string, afterSeq: number, limit: number): Promise<RpcResult<ReadAfterResult>> {
    return rpcCall(() => {
      const member = this.#requireActive(userId);
      const head = this.#requireChannel().headSeq;
      const messages = this.#store.after(
        Math.max(afterSeq, member.joinedSeq),
        Math.min(limit, MAX_PAGE_MESSAGES),
      );
      const last = messages.at(-1)?.seq ?? Math.max(afterSeq, member.joinedSeq);
      return { messages, head_seq: head, complete: last >= head };
    });
  }

  /** Closes a revoked device's sockets here. */
  async disconnectDevice(deviceId: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets(deviceId)) {
      this.#sockets.delete(ws);
      closeQuietly(ws, CLOSE.revoked, "this device was signed out");
    }
  }

  /** How many update calls this object made to each user object (tests and the benchmark). */
  async updateCalls(): Promise<Record<string, number>> {
    return Object.fromEntries(this.#fanout.calls);
  }

  /** The backstop: sends whatever the fan-out still owes (after a crash or a failed call). */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    this.#store.persistSynced();
    await this.#syncD1().catch((err) => this.#retryLater("D1 copy", err));
    const owed = this.#store.lagging(this.#store.channel()?.headSeq ?? 0);
    if (owed.length === 0) {
      this.#retries = 0;
      return;
    }
    this.#fanout.notify(owed);
    this.#armAlarm(Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** this.#retries++));
  }

  // -------------------------------------------------------------------------------------------
  // The message path.

  /** Validates and stores a message, or finds the one this client id already stored. */
  #append(senderId: string, clientMsgId: string, text: string): { message: WireMessage; fresh: boolean } {
    const channel = this.#requireChannel();
    this.#requireActive(senderId);
    if (channel.blockedBy !== "[]") throw new ChatError("blocked", "this conversation is blocked");
    checkMessageText(text);
    // Idempotent with no time window: the key is stored with the message itself.
    const existing = this.#store.byClientMsgId(senderId, clientMsgId);
    if (existing) return { message: existing, fresh: false };
    const ts = Date.now();
    const message = {
      channel_id: channel.channelId,
      id: newId(ts),
      sender_id: senderId,
      client_msg_id: clientMsgId,
      text,
      ts,
    };
    const seq = this.#store.append(this.ctx.storage, message);
    // Armed in the same event as the write: if we die before the fan-out, the alarm sends it.
    this.#armAlarm(RETRY_MS * 5);
    return { message: { ...message, seq }, fresh: true };
  }

  #ack(m: WireMessage): Ack {
    return { client_msg_id: m.client_msg_id, channel_id: m.channel_id, seq: m.seq, id: m.id, ts: m.ts };
  }

  /** Broadcasts to the channel sockets held here, then owes every member's user object. */
  #deliver(message: WireMessage, sender: WebSocket | null): void {
    const frame = JSON.stringify({ v: 1, type: "message", message } satisfies ServerFrame);
    for (const [ws, s] of this.#sockets) {
      if (s.sentSeq !== message.seq - 1) continue; // mid-sync: its next page carries it
      s.sentSeq = message.seq;
      if (ws !== sender) sendQuietly(ws, frame);
    }
    this.#fanout.notify(this.#activeMembers().map((m) => m.userId));
  }

  /** One page of messages after `afterSeq` for a channel socket; live again once complete. */
  #sync(ws: WebSocket, socket: SocketState, afterSeq: number, limit: number, ref: string | undefined): void {
    const member = this.#requireActive(socket.userId);
    const channel = this.#requireChannel();
    const from = Math.min(Math.max(afterSeq, member.joinedSeq), channel.headSeq);
    const messages = this.#store.after(from, limit);
    const last = messages.at(-1)?.seq ?? from;
    const complete = last >= channel.headSeq;
    const wasSyncing = socket.sentSeq === null;
    socket.sentSeq = complete ? last : null;
    if (wasSyncing !== !complete) {
      const a = attachmentOf(ws);
      if (a) ws.serializeAttachment({ ...a, syncing: !complete } satisfies SocketAttachment);
    }
    ws.send(
      JSON.stringify({
        v: 1,
        type: "messages",
        channel_id: channel.channelId,
        messages,
        complete,
        next_after_seq: last,
        ...(ref && { ref }),
      } satisfies ServerFrame),
    );
  }

  #markRead(userId: string, seq: number): number {
    this.#requireActive(userId);
    const before = this.#store.member(userId)?.readSeq ?? 0;
    const after = this.#store.markRead(userId, Math.min(seq, this.#requireChannel().headSeq));
    if (after > before) {
      const frame = JSON.stringify({
        v: 1,
        type: "read",
        channel_id: this.#requireChannel().channelId,
        user_id: userId,
        seq: after,
      } satisfies ServerFrame);
      for (const ws of this.#sockets.keys()) sendQuietly(ws, frame);
      this.#fanout.notify([userId]);
    }
    return after;
  }

  /** Sends one member's user object everything it lacks, a page per call. */
  async #updateMember(userId: string): Promise<void> {
    if (this.faults.failUserUpdates) throw new Error("fault injected: user updates fail");
    for (;;) {
      const channel = this.#store.channel();
      const member = this.#store.member(userId);
      if (!channel || !member) return;
      const removed = member.removedAt !== null;
      const messages =
        !removed && member.syncedSeq < channel.headSeq
          ? this.#store.after(member.syncedSeq, UPDATE_PAGE)
          : [];
      if (messages.length === 0 && member.syncedRev >= member.rev) return;
      // Rows are live copies that may change during the await: take what is sent now.
      const rev = member.rev;
      const head = channel.headSeq;
      const upTo = messages.at(-1)?.seq ?? member.syncedSeq;
      const update: InboxUpdate = {
        channel_id: channel.channelId,
        kind: channel.kind,
        name: channel.name,
        head_seq: head,
        read_seq: member.readSeq,
        joined_seq: member.joinedSeq,
        removed,
        messages,
        viewing_devices: [...this.#viewingDevices(userId)],
      };
      const { devices } = await this.env.USER_INBOX.getByName(userId).applyChannelUpdate(update);
      this.#inboxDevices.set(userId, devices);
      if (removed) return this.#store.forgetMember(userId);
      this.#store.markSynced(userId, upTo, rev);
      this.#saveSyncSoon();
      if (upTo >= head) return;
    }
  }

  /** Batches the writes of sync positions: at most one round per second (see markSynced). */
  #saveSyncSoon(): void {
    if (this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = null;
      this.#store.persistSynced();
    }, SAVE_SYNC_MS);
  }

  /** A user object reports that a device connected: fold no longer, and re-learn its devices. */
  async deviceConnected(userId: string): Promise<void> {
    this.#inboxDevices.delete(userId);
    if (this.#store.member(userId)) this.#fanout.hurry(userId);
  }

  #windowFor(userId: string): number {
    if (!this.#needsLiveCopy(userId)) return QUIET_WINDOW_MS;
    let fast = 0;
    for (const m of this.#store.members()) if (m.removedAt === null && this.#needsLiveCopy(m.userId)) fast++;
    return Math.max(Number(this.env.FANOUT_WINDOW_MS), fast * FAST_CALL_BUDGET_MS);
  }

  /** Devices of this user holding a live (not mid-sync) channel socket here. */
  #viewingDevices(userId: string): Set<string> {
    const out = new Set<string>();
    for (const s of this.#sockets.values())
      if (s.userId === userId && s.sentSeq !== null) out.add(s.deviceId);
    return out;
  }

  /** True unless every device the user object reported is viewing this channel. */
  #needsLiveCopy(userId: string): boolean {
    const devices = this.#inboxDevices.get(userId);
    if (!devices) return true;
    const viewing = this.#viewingDevices(userId);
    return devices.some((d) => !viewing.has(d));
  }

  // -------------------------------------------------------------------------------------------
  // Membership and bookkeeping.

  /** Brings D1's copy in step (awaited, so listings are current when the call returns). */
  async #afterMembershipChange(owed: string[]): Promise<void> {
    this.#armAlarm(RETRY_MS * 5);
    this.#fanout.notify(owed);
    await this.#syncD1().catch((err) => this.#retryLater("D1 copy", err));
  }

  async #syncD1(): Promise<void> {
    const c = this.#store.channel();
    if (!c || c.d1Rev >= c.metaRev) return;
    await writeChannelMirror(
      openDb(this.env.DB),
      {
        id: c.channelId,
        kind: c.kind,
        name: c.name,
        ownerId: c.ownerId,
        createdAt: c.createdAt,
        members: this.#activeMembers().map((m) => ({ userId: m.userId, role: m.role, joinedAt: m.joinedAt })),
      },
      Date.now(),
    );
    this.#store.markD1Synced(c.metaRev);
  }

  #info(actorId: string): ChannelInfo {
    const c = this.#requireChannel();
    const members = this.#activeMembers();
    requireMember(members, actorId);
    return {
      channel_id: c.channelId,
      kind: c.kind,
      name: c.name,
      owner_id: c.ownerId,
      created_at: c.createdAt,
      head_seq: c.headSeq,
      members: members.map((m) => ({ user_id: m.userId, role: m.role, joined_at: m.joinedAt })),
    };
  }

  #requireChannel(): ChannelRow {
    const c = this.#store.channel();
    // An unknown channel answers exactly like a channel one is not a member of.
    if (!c) throw new ChatError("not_a_member", "you are not a member of this channel");
    return c;
  }

  #requireGroup(): void {
    if (this.#requireChannel().kind !== "group")
      throw new ChatError("bad_request", "a 1:1 chat has no members to manage");
  }

  #activeMembers(): MemberRow[] {
    return this.#store.members().filter((m) => m.removedAt === null);
  }

  #requireActive(userId: string): MemberRow {
    this.#requireChannel();
    const m = this.#store.member(userId);
    if (!m || m.removedAt !== null)
      throw new ChatError("not_a_member", "you are not a member of this channel");
    return m;
  }

  #armAlarm(inMs: number): void {
    const at = Date.now() + inMs;
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  #retryLater(what: string, err: unknown): void {
    console.warn(
      JSON.stringify({
        at: "ChannelRoom",
        channel: this.#store.channel()?.channelId,
        retry: what,
        error: String(err),
      }),
    );
    this.#armAlarm(Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** this.#retries));
  }

  #asChatError(err: unknown): ChatError {
    if (err instanceof ChatError) return err;
    const ref = newId();
    console.error(
      JSON.stringify({
        at: "ChannelRoom",
        channel: this.#store.channel()?.channelId,
        ref,
        error: String(err),
        stack: err instanceof Error ? err.stack : undefined,
      }),
    );
    return new ChatError("internal", `something went wrong (ref ${ref})`);
  }
}
