/**
 * @module durable-objects/channel-room
 * One Durable Object per conversation (a 1:1 pair or a group): the single writer of its log
 * and the authority for its members and their read markers.
 *
 * A message's path through here (docs/architecture.md draws it whole):
 * validate → store (seq and row in one transaction) → ack the sender → broadcast to the
 * channel sockets held here (`ChannelSockets`) → owe every member's UserInbox an update
 * (`MemberUpdates`). What a user object lacks is derived from storage, so an update lost to a
 * crash is simply still owed, and the alarm sends it.
 * The class translates runtime events into calls on those parts; typing (`Typing`) and the
 * presence of members while someone views the channel are here too. So are the channel's flood
 * limits (`SendLimits`, `SocketLimits`, and per member or per channel for the REST calls that
 * land here): see docs/architecture.md, "Flood control".
 *
 * An object whose channel was never created holds no storage: its tables are made by `create`,
 * and every other call on it is refused as for a non-member without creating them. So an id
 * invented by a client costs no storage, however it reaches the object.
 *
 * Old messages leave SQLite for sealed segments in R2 (`Sealer`, started by the message that
 * makes work due, with the alarm as backstop); every read goes through `Pages` over
 * `ChannelHistory`, which reads both (docs/architecture.md "The archive").
 */
import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { decodeTime } from "ulid";
import { readLimits } from "../../domain/limits.ts";
import { checkAdd, checkRemove, checkRename, nextOwner, requireMember } from "../../domain/membership.ts";
import { checkMessageText } from "../../domain/message-text.ts";
import { heartbeatInterval } from "../../domain/presence.ts";
import { Bucket, Limiter } from "../../domain/rate-limit.ts";
import { parseQuery } from "../../domain/search-terms.ts";
import { phaseOf } from "../../domain/slots.ts";
import migrations from "../../migrations/channel-room/migrations.js";
import { errorText, log, stackOf } from "../../observability/log.ts";
import { type Metrics, metricsOf } from "../../observability/metrics.ts";
import {
  type Ack,
  type ChannelInfo,
  type ChannelSearchPage,
  MAX_GROUP_MEMBERS,
  type MemberReceipt,
  type Receipts,
} from "../../protocol/api.ts";
import { CLOSE } from "../../protocol/close-codes.ts";
import { ChatError, rateLimited } from "../../protocol/errors.ts";
import {
  type ChannelClientFrame,
  checkClientFrame,
  DEFAULT_PAGE_MESSAGES,
  decodeClientFrame,
  errorFrame,
  HEARTBEAT,
  type ServerFrame,
  type WireAttachment,
  type WireMessage,
} from "../../protocol/frames.ts";
import { newId } from "../../protocol/ids.ts";
import type {
  BlockPair,
  CreateChannelInput,
  EntryRequest,
  ExportPage,
  HistoryPage,
  InboxUpdate,
  InboxUpdateResult,
  ReadAfterResult,
} from "../../protocol/rpc.ts";
import { Archive, segmentCache } from "../../storage/channel/archive.ts";
import { AttachmentStore, attachmentKey, type ReadyAttachment } from "../../storage/channel/attachments.ts";
import { ChannelHistory } from "../../storage/channel/history.ts";
import { SearchIndex } from "../../storage/channel/search-index.ts";
import { type ChannelRow, ChannelStore, type MemberRow, type NewEntry } from "../../storage/channel/store.ts";
import { openDb } from "../../storage/d1/db.ts";
import { writeChannelMirror } from "../../storage/d1/memberships.ts";
import { type RpcResult, rpcCall } from "../rpc.ts";
import { answerUpgrade, closeQuietly, sendFrame } from "../socket-identity.ts";
import { type AttachmentGrant, Attachments, UPLOADING_TTL_MS } from "./attachments.ts";
import { ChannelSockets } from "./channel-sockets.ts";
import { LogEntries } from "./log-entries.ts";
import { MemberUpdates } from "./member-updates.ts";
import type { MessageHooks } from "./message-hooks.ts";
import { type HistoryRequest, Pages, readingArchive } from "./pages.ts";
import { type ArchiveStats, Sealer, type SealStep } from "./sealer.ts";
import { ChannelSearch } from "./search.ts";
import { type EntryBudget, SendLimits } from "./send-limits.ts";
import { StateFold } from "./state-fold.ts";
import { Typing } from "./typing.ts";

export { QUIET_WINDOW_MS, VIEWING_WINDOW_MS } from "./member-updates.ts";

/**
 * While someone views this channel, its members' user objects publish presence changes here,
 * for this long after each (re)subscription; it is renewed halfway through.
 */
const WATCH_TTL_MS = 120_000;
/** Renewals of those subscriptions are spread over this long (well inside the TTL's half). */
const RENEW_SPREAD_MS = 10_000;
/** Backstop for updates that could not be sent: the first retry, doubled up to a minute. */
const RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;
/**
 * The backstop for updates the live object has yet to send (if it dies first, the alarm sends
 * them): armed 5 s after a membership change, 5-10 s after the first message of a quiet spell
 * (on the channel's slot), and kept within `SAFETY_NET_MAX_MS` while updates are owed. A busy
 * channel always owes its viewers a folded update; re-arming at 5 s made its alarm fire every
 * 5 s for work already in hand (locally an invocation and about 3.5 fsyncs each time;
 * docs/performance.md).
 */
const SAFETY_NET_MS = 5_000;
const SAFETY_NET_MAX_MS = 30_000;
/**
 * How long state kept in memory may wait for its batched write (ChannelStore.persistBatched):
 * sync positions, read and delivered markers, the head.
 */
const SAVE_BATCH_MS = 1_000;
/**
 * Socket sends whose `send_ack` is measured: the first, then one in this many (see #measureAck).
 * REST posts are few and each is measured.
 */
const ACK_SAMPLE_EVERY = 16;

export class ChannelRoom extends DurableObject<Env> {
  readonly #store: ChannelStore;
  readonly #archive: Archive;
  readonly #history: ChannelHistory;
  readonly #pages: Pages;
  readonly #sealer: Sealer;
  readonly #sockets: ChannelSockets;
  readonly #updates: MemberUpdates;
  readonly #entries: LogEntries;
  readonly #attachments: Attachments;
  readonly #attachmentStore: AttachmentStore;
  readonly #search: ChannelSearch;
  /**
   * Whether this object's channel was ever created (its tables exist). Until `create`, nothing
   * reads or writes storage: an invented id must not make the runtime keep a database for it.
   */
  #created = false;
  readonly #sends: SendLimits;
  /** History pages and REST read markers, per member; membership changes, per channel. */
  readonly #historyPages: Limiter;
  readonly #restMarkers: Limiter;
  readonly #downloads: Limiter;
  readonly #memberChanges: Bucket;
  readonly #typing: Typing;
  /** Markers and typing, each shown to every socket at most once per interval. */
  readonly #receipts: StateFold;
  readonly #typists: StateFold;
  /** Edits, deletes and reactions, shown to channel sockets at most once per interval (§6.5). */
  readonly #entryFold: StateFold;
  readonly #metrics: Metrics;
  /** Socket acks so far, for sampling `send_ack`. */
  #socketAcks = 0;
  #saveTimer: ReturnType<typeof setTimeout> | null = null;
  #alarmAt: number | null = null;
  #retries = 0;
  /** Members' presence is published here until then (0: not watching). */
  #watchingUntil = 0;
  /**
   * Test seam for fault injection (never set in production): while true, every update to a
   * user object fails as if the process had died between the ack and the fan-out. It lives
   * in memory only, so an eviction or restart clears it, as a real crash would.
   * `sealCrashAfter` stops the sealer right after one of its steps, the same way.
   */
  readonly faults: { failUserUpdates: boolean; sealCrashAfter: SealStep | null } = {
    failUserUpdates: false,
    sealCrashAfter: null,
  };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const limits = readLimits(env);
    this.#metrics = metricsOf(env);
    this.#store = new ChannelStore(ctx.storage.sql);
    this.#sockets = new ChannelSockets(limits, (ws) => this.#socketGone(ws));
    this.#sends = new SendLimits({
      perDevice: limits.sendsPerDevice,
      perUser: limits.sendsPerUser,
      perDeviceEdits: limits.editsPerDevice,
      perDeviceReactions: limits.reactionsPerDevice,
      // Over the per-user period, on each user's slot, or sooner when a tenth of the budget piled up.
      reportEveryMs: limits.sendsPerUser.periodMs,
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      report: (userId, count) => env.USER_INBOX.getByName(userId).reportSends(count),
      onError: (userId, err) =>
        log.warn("channel.sends_not_reported", { user_id: userId, error: errorText(err) }),
    });
    this.#historyPages = new Limiter(limits.historyPerUser);
    this.#restMarkers = new Limiter(limits.markersPerSocket);
    this.#downloads = new Limiter(limits.downloadsPerUser);
    this.#memberChanges = new Bucket(limits.memberChangesPerChannel);
    this.#archive = new Archive(env.ARCHIVE);
    this.#history = new ChannelHistory({
      store: this.#store,
      load: (segment) => this.#archive.load(segment),
    });
    this.#pages = new Pages(this.#history, this.#store);
    this.#entries = new LogEntries({ store: this.#store, history: this.#history });
    this.#attachmentStore = new AttachmentStore(ctx.storage.sql);
    this.#attachments = new Attachments({
      store: this.#attachmentStore,
      bucket: env.ARCHIVE,
      channelId: () => this.#requireChannel().channelId,
    });
    this.#search = new ChannelSearch({
      index: new SearchIndex(ctx.storage.sql),
      store: this.#store,
      history: this.#history,
      head: () => this.#store.channel()?.headSeq ?? 0,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      onError: (err) => this.#retryLater("search index", err),
    });
    this.#sealer = new Sealer({
      store: this.#store,
      archive: this.#archive,
      channelId: () => this.#requireChannel().channelId,
      segmentMessages: Math.max(1, Number(env.ARCHIVE_SEGMENT_MESSAGES)),
      hotMessages: Math.max(0, Number(env.HOT_MESSAGES)),
      now: () => Date.now(),
      crashAfter: () => this.faults.sealCrashAfter,
      onSealed: (messages, bytes, ms) => this.#metrics.archiveSeal("sealed", ms, messages, bytes),
      onError: (err) => this.#sealFailed(err),
    });
    this.#updates = new MemberUpdates({
      store: this.#store,
      read: async (afterSeq, limit) => this.#store.states.resolve(await this.#history.after(afterSeq, limit)),
      history: this.#history,
      sockets: this.#sockets,
      fastWindowMs: Number(env.FANOUT_WINDOW_MS),
      send: async (userId, update) => {
        const result = await env.USER_INBOX.getByName(userId).applyChannelUpdate(update);
        const oldest = update.messages[0];
        if (oldest)
          this.#metrics.fanoutLag(Date.now() - oldest.ts, update.messages.length, fanoutKind(update, result));
        return result;
      },
      onError: (userId, err) => this.#retryLater(`update of ${userId}`, err),
      failing: () => this.faults.failUserUpdates,
      saveSoon: () => this.#saveSoon(),
    });
    const fold = (flush: (userIds: string[]) => void) =>
      new StateFold({
        intervalMs: Number(env.RECEIPTS_INTERVAL_MS),
        now: () => Date.now(),
        setTimer: (fn, ms) => setTimeout(fn, ms),
        flush,
      });
    this.#receipts = fold((userIds) => this.#sendReceipts(userIds));
    this.#typists = fold((userIds) => this.#sendTyping(userIds));
    this.#entryFold = fold(() => this.#sockets.flushPending());
    this.#typing = new Typing({
      intervalMs: Number(env.TYPING_INTERVAL_MS),
      ttlMs: Number(env.TYPING_TTL_MS),
    });
    // Heartbeats are answered by the runtime without waking this object (issue #4).
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT.request, HEARTBEAT.response));
    void ctx.blockConcurrencyWhile(async () => {
      // Reading the schema creates nothing; only a created channel is migrated (issue #17).
      this.#created = hasTables(ctx.storage.sql);
      if (!this.#created) return;
      await migrate(drizzle(ctx.storage), migrations);
      // Once, on the first start of a channel that predates the chain (migration 0003).
      this.#store.backfillChain();
      this.#sockets.rehydrate(ctx.getWebSockets(), this.#store.channel()?.headSeq ?? 0);
      // Messages a crash kept from the index, or a history older than it, are indexed now.
      if (this.#search.behind() > 0) this.#search.noteNew();
    });
  }

  /** The channel row, or null when there is none (never created: no tables to read). */
  #channel(): ChannelRow | null {
    return this.#created ? this.#store.channel() : null;
  }

  // -------------------------------------------------------------------------------------------
  // WebSocket: upgrade, frames, close.

  override async fetch(request: Request): Promise<Response> {
    return answerUpgrade(request, (id) => {
      const channel = this.#requireChannel();
      this.#requireActive(id.userId);
      this.#sockets.close(
        this.ctx.getWebSockets(id.deviceId),
        CLOSE.replaced,
        "replaced by a newer connection",
      );
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, [id.userId, id.deviceId]);
      this.#sockets.add(server, id.userId, id.deviceId, channel.headSeq);
      this.#watchMembers();
      sendFrame(server, {
        v: 1,
        type: "hello",
        socket: "channel",
        user_id: id.userId,
        device_id: id.deviceId,
        channel_id: channel.channelId,
        head_seq: channel.headSeq,
        heartbeat_ms: heartbeatInterval(Number(this.env.PRESENCE_TIMEOUT_MS)),
      });
      return client;
    });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const socket = this.#sockets.get(ws);
    if (!socket) {
      // Closed here already (removed, replaced, flooding): what it sent meanwhile is dropped,
      // at the least cost, as a flooder keeps sending until its close frame reaches it.
      if (ws.readyState === WebSocket.OPEN) this.#sockets.close([ws], CLOSE.removed, "unknown socket");
      return;
    }
    const decoded = decodeClientFrame(raw);
    // Every frame counts against the socket's budgets before its schema is checked, so a flood
    // of any kind, malformed ones included, costs a parse and a refusal (socket-limits.ts).
    const over = socket.limits.admit(decoded.ok ? decoded.frame.type : undefined, Date.now());
    const ref = decoded.ok ? decoded.frame.ref : decoded.ref;
    if (over) return this.#refuse(ws, rateLimited(over.what, over.retryAfterMs), ref);
    const parsed = decoded.ok ? checkClientFrame("channel", decoded.frame) : decoded;
    if (!parsed.ok) return sendFrame(ws, errorFrame(parsed.error, parsed.ref));
    const frame = parsed.frame;
    try {
      switch (frame.type) {
        case "send":
        case "edit":
        case "delete":
        case "react": {
          const arrived = Date.now();
          const req = entryRequest(frame);
          this.#admitSend(socket.userId, socket.deviceId, budgetOf(req));
          // A plain message takes the synchronous path (a reply, an edit, a delete or a reaction
          // first finds its target); only a retry of an archived message waits (for R2).
          const appended =
            req.kind === "message" && req.reply_to === undefined
              ? this.#append(socket.userId, req.client_msg_id, req.text, req.attachments)
              : this.#writeEntry(socket.userId, req);
          const { message, fresh } = appended instanceof Promise ? await appended : appended;
          // Entries folded for this socket come before the ack, which may follow them in the log.
          this.#sockets.flushPending(ws);
          // The write above is part of this event's implicit transaction, and the runtime's
          // output gate holds every outgoing frame until that transaction is durable. So the
          // ack can be sent now: if the write were lost, the ack would never leave.
          sendFrame(ws, { v: 1, type: "ack", ...this.#ack(message), ...(frame.id && { ref: frame.id }) });
          this.#measureAck(arrived, "socket");
          if (fresh) this.#deliver(message, ws);
          return;
        }
        case "sync":
          return await this.#sync(
            ws,
            socket.userId,
            frame.after_seq,
            frame.limit ?? DEFAULT_PAGE_MESSAGES,
            frame.id,
          );
        case "read":
          this.#markRead(socket.userId, frame.seq);
          return;
        case "delivered":
          this.#markDelivered(socket.userId, frame.seq);
          return;
        case "typing": {
          const channel = this.#requireChannel();
          // Nobody posts in a blocked or closed 1:1 chat, so nobody is shown typing there either.
          if (channel.blockedBy !== "[]" || channel.closedReason !== null) return;
          if (this.#typing.start(socket.userId, Date.now()) !== null) this.#typists.changed(socket.userId);
          return;
        }
      }
    } catch (err) {
      const error = this.#asChatError(err);
      if (error.code === "rate_limited") return this.#refuse(ws, error, frame.id);
      sendFrame(ws, errorFrame(error, frame.id));
    }
  }

  /**
   * Refuses a frame for its rate (nothing was done). A socket that keeps sending after its
   * refusals is not listening: it is closed (CLOSE.flooding), and may reconnect and resume.
   */
  #refuse(ws: WebSocket, err: ChatError, ref: string | undefined): void {
    sendFrame(ws, errorFrame(err, ref));
    this.#metrics.rateLimited(err.limit ?? "unknown", "channel_socket", err.retryAfterMs ?? 0);
    const socket = this.#sockets.get(ws);
    if (!socket?.limits.refused(Date.now())) return;
    this.#socketGone(ws);
    closeQuietly(ws, CLOSE.flooding, "too many frames after being refused; reconnect later");
    // No new ticket for a while (LIMIT_FLOOD_PAUSE_MS; UserInbox.flooded says why).
    this.ctx.waitUntil(
      this.env.USER_INBOX.getByName(socket.userId)
        .flooded()
        .catch((e) =>
          log.warn("channel.flood_not_reported", { user_id: socket.userId, error: errorText(e) }),
        ),
    );
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.#socketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#socketGone(ws);
  }

  #socketGone(ws: WebSocket): void {
    const userId = this.#sockets.get(ws)?.userId;
    const lastOfUser = this.#sockets.remove(ws);
    if (lastOfUser) this.#stopTyping(lastOfUser);
    if (userId) this.#updates.viewerLeft(userId);
  }

  // -------------------------------------------------------------------------------------------
  // RPC from the Worker: membership, history, posting over HTTP.

  /** Creates the channel; for a 1:1 pair, returns the existing one when called again. */
  async create(input: CreateChannelInput): Promise<RpcResult<ChannelInfo>> {
    return rpcCall(async () => {
      if (!this.#created) {
        await this.ctx.blockConcurrencyWhile(() => migrate(drizzle(this.ctx.storage), migrations));
        this.#created = true;
      }
      const existing = this.#store.channel();
      if (existing) {
        // Opening a 1:1 chat again: the Worker has just checked that the two are friends with
        // no block, so a chat closed by an unfriending is open again (whatever call missed it).
        if (existing.kind === "dm" && existing.closedReason === "not_friends") this.#store.setClosed(null);
        return this.#info(input.memberIds[0]!);
      }
      if (input.memberIds.length > MAX_GROUP_MEMBERS) {
        throw new ChatError("group_full", `a group has at most ${MAX_GROUP_MEMBERS} members`);
      }
      const now = Date.now();
      this.ctx.storage.transactionSync(() => {
        this.#store.createChannel({ ...input, createdAt: now });
        for (const userId of input.memberIds) {
          this.#store.putMember(userId, userId === input.ownerId ? "owner" : "member", now, 0);
        }
        this.#keepBlocks(input.blocks ?? []);
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
      this.#requireChannel();
      checkRename(this.#activeMembers(), actorId);
      this.#admitMemberChange();
      this.#requireGroup();
      this.#store.touchMeta({ name });
      this.#store.touchAllMembers();
      await this.#afterMembershipChange(this.#activeMembers().map((m) => m.userId));
      return this.#info(actorId);
    });
  }

  /** Adds members; `blocks`: those D1 has between them and anyone (kept where both are members). */
  async addMembers(
    actorId: string,
    userIds: string[],
    blocks: BlockPair[] = [],
  ): Promise<RpcResult<ChannelInfo>> {
    return rpcCall(async () => {
      this.#requireGroup();
      const fresh = checkAdd(this.#activeMembers(), actorId, userIds);
      this.#admitMemberChange();
      const head = this.#requireChannel().headSeq;
      const now = Date.now();
      // New members read history from now on: joined_seq is the current head.
      for (const userId of fresh) this.#store.putMember(userId, "member", now, head);
      this.#keepBlocks(blocks);
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
      this.#admitMemberChange();
      if (requireMember(members, targetId).role === "owner") {
        const heir = nextOwner(members, targetId);
        if (heir) this.#store.setRole(heir, "owner");
        this.#store.touchMeta({ ownerId: heir ?? null });
      } else {
        this.#store.touchMeta();
      }
      this.#store.markRemoved(targetId, Date.now(), this.#requireChannel().headSeq);
      this.#store.dropBlocksOf(targetId);
      this.#receipts.forget(targetId);
      this.#typists.forget(targetId);
      this.#sockets.close(this.#sockets.socketsOf(targetId), CLOSE.removed, "you are no longer a member");
      await this.#afterMembershipChange([targetId]);
      return actorId === targetId ? null : this.#info(actorId);
    });
  }

  /**
   * `blockerId` blocked `blockedId`, or lifted the block. In any channel, nothing of the
   * blocker's activity (presence, typing, receipts) reaches the blocked member from then on,
   * while messages still flow in a shared group (docs/protocol.md §6.9). In a 1:1 channel
   * nobody posts while a block stands.
   */
  async setBlock(blockerId: string, blockedId: string, blocked: boolean): Promise<void> {
    const channel = this.#channel();
    if (!channel || !this.#isActive(blockerId) || !this.#isActive(blockedId)) return;
    this.#store.setBlock(blockerId, blockedId, blocked);
    if (channel.kind !== "dm") return;
    this.#store.setBlocked(blockerId, blocked);
    // A block also ends the friendship: once it is lifted, the chat stays closed until the two
    // are friends again.
    if (blocked && channel.closedReason === null) this.#store.setClosed("not_friends");
  }

  /**
   * The two members of this 1:1 channel became friends, or stopped being friends. A 1:1 chat
   * takes posts only between friends; both can always read it. A deleted account's stays closed.
   */
  async setFriends(friends: boolean): Promise<void> {
    const channel = this.#channel();
    if (channel?.kind !== "dm" || channel.closedReason === "account_deleted") return;
    const reason = friends ? null : "not_friends";
    if (channel.closedReason !== reason) this.#store.setClosed(reason);
  }

  /** A member's account was deleted: its 1:1 chat stays readable and takes no more posts. */
  async accountDeleted(userId: string): Promise<void> {
    if (this.#channel()?.kind === "dm" && this.#store.member(userId))
      this.#store.setClosed("account_deleted");
  }

  /** Posts over HTTP: the same path, and the same limits, as a channel socket's `send`. */
  async post(
    senderId: string,
    deviceId: string,
    clientMsgId: string,
    text: string,
    attachmentIds?: string[],
    replyTo?: number,
  ): Promise<RpcResult<Ack>> {
    return this.write(senderId, deviceId, {
      kind: "message",
      client_msg_id: clientMsgId,
      text,
      ...(attachmentIds !== undefined && { attachments: attachmentIds }),
      ...(replyTo !== undefined && { reply_to: replyTo }),
    });
  }

  /**
   * Writes an entry over HTTP (a message, an edit, a delete or a reaction): the same path, and
   * the same limits, as the channel socket's frames (docs/protocol.md §6.10).
   */
  async write(senderId: string, deviceId: string, req: EntryRequest): Promise<RpcResult<Ack>> {
    return rpcCall(async () => {
      const arrived = Date.now();
      this.#admitSend(senderId, deviceId, budgetOf(req));
      const { message, fresh } = await (req.kind === "message" && req.reply_to === undefined
        ? this.#append(senderId, req.client_msg_id, req.text, req.attachments)
        : this.#writeEntry(senderId, req));
      if (fresh) this.#deliver(message, null);
      this.#measureAck(arrived, "rest");
      return this.#ack(message);
    });
  }

  /**
   * A page of history, newest first by default, forwards from `after`, or around a message
   * (`around` a seq, `around_id` a message id). Members only; hot and archived alike.
   */
  async history(userId: string, q: HistoryRequest): Promise<RpcResult<HistoryPage>> {
    return rpcCall(() => {
      const member = this.#requireActive(userId);
      const wait = this.#historyPages.take(userId, Date.now());
      if (wait > 0) throw rateLimited("history pages", wait);
      return this.#reading(this.#pages.history(this.#requireChannel().channelId, member, q));
    });
  }

  /** Over REST: the marker is written before the answer (a socket's `read` waits for the batch). */
  async markRead(userId: string, seq: number): Promise<RpcResult<{ channel_id: string; read_seq: number }>> {
    return rpcCall(() => {
      this.#requireActive(userId);
      const wait = this.#restMarkers.take(userId, Date.now());
      if (wait > 0) throw rateLimited("read markers", wait);
      const readSeq = this.#markRead(userId, seq);
      this.#store.persistBatched();
      return { channel_id: this.#requireChannel().channelId, read_seq: readSeq };
    });
  }

  /** Every member's delivered and read markers (members only), but those of members who blocked the reader. */
  async receipts(userId: string): Promise<RpcResult<Receipts>> {
    return rpcCall(() => {
      this.#requireActive(userId);
      const hidden = this.#store.blockers().get(userId);
      return {
        channel_id: this.#requireChannel().channelId,
        members: this.#activeMembers()
          .filter((m) => !hidden?.has(m.userId))
          .map(receiptOf),
      };
    });
  }

  // -------------------------------------------------------------------------------------------
  // RPC from the Worker: attachments, search, export (docs/architecture.md "Attachments",
  // "Search", "Download my data").

  /**
   * An upload is about to stream to R2: recorded first, so bytes a dying Worker leaves behind
   * are found and swept. Only a member who may post here may upload.
   */
  async beginUpload(
    userId: string,
    id: string,
    name: string,
    type: string,
    size: number,
  ): Promise<RpcResult<{ key: string }>> {
    return rpcCall(() => {
      const channel = this.#requireWritable(userId);
      const now = Date.now();
      this.#attachments.begin(userId, id, name, type, size, now);
      this.#armAlarm(UPLOADING_TTL_MS);
      return { key: attachmentKey(channel.channelId, id) };
    });
  }

  /** The upload's bytes are stored and passed their checks. */
  async completeUpload(userId: string, a: ReadyAttachment): Promise<RpcResult<WireAttachment>> {
    return rpcCall(() => {
      this.#requireActive(userId);
      return this.#attachments.ready(userId, a);
    });
  }

  /** The upload failed or was refused: its record and whatever reached R2 go. */
  async abortUpload(userId: string, id: string): Promise<void> {
    if (this.#created) await this.#attachments.abort(userId, id);
  }

  /** Where an attachment's bytes (or its preview's) are, for a member who may read them. */
  async attachment(userId: string, id: string, preview: boolean): Promise<RpcResult<AttachmentGrant>> {
    return rpcCall(() => {
      const member = this.#requireActive(userId);
      const wait = this.#downloads.take(userId, Date.now());
      if (wait > 0) throw rateLimited("downloads", wait);
      return this.#attachments.grant(member, id, preview);
    });
  }

  /** Full-text search of this channel, newest first, after the member's join point. */
  async search(
    userId: string,
    q: string,
    before: number | null,
    limit: number,
  ): Promise<RpcResult<ChannelSearchPage>> {
    return rpcCall(async () => {
      const member = this.#requireActive(userId);
      const channelId = this.#requireChannel().channelId;
      const query = parseQuery(q);
      if (!query) return { channel_id: channelId, hits: [], next_before: null, partial: false };
      const found = await this.#reading(
        this.#search.query(query, member.joinedSeq, before ?? Number.MAX_SAFE_INTEGER, limit),
      );
      return {
        channel_id: channelId,
        hits: found.hits,
        next_before: found.nextBefore,
        partial: found.partial,
      };
    });
  }

  /**
   * A page of the member's export (hot and archived alike): the messages after `afterSeq` (never
   * at or before its join point), all of them or only the member's own, with where their
   * attachments' bytes are. `next_after_seq` is where the next page starts; null once the head
   * is reached.
   */
  async exportPage(userId: string, afterSeq: number, onlyMine: boolean): Promise<RpcResult<ExportPage>> {
    return rpcCall(async () => {
      const member = this.#requireActive(userId);
      const channel = this.#requireChannel();
      const from = Math.max(afterSeq, member.joinedSeq);
      // As every read: a deleted message without its text or attachments, edits and reactions resolved.
      const read = this.#store.states.resolve(await this.#reading(this.#history.after(from, 500)));
      const last = read.at(-1)?.seq ?? from;
      const messages = onlyMine ? read.filter((m) => m.sender_id === userId) : read;
      const crcs = new Map(
        this.#attachmentStore.inRange(from, last, 5_000).map((a) => [a.id, a.crc32 ?? 0] as const),
      );
      const files = messages.flatMap((m) =>
        (m.attachments ?? []).map((a) => ({
          seq: m.seq,
          id: a.id,
          name: a.name,
          size: a.size,
          crc32: crcs.get(a.id) ?? null,
          key: attachmentKey(channel.channelId, a.id),
        })),
      );
      const head = this.#store.channel()?.headSeq ?? 0;
      return {
        channel_id: channel.channelId,
        joined_seq: member.joinedSeq,
        head_seq: head,
        messages,
        attachments: files,
        next_after_seq: read.length > 0 && last < head ? last : null,
      };
    });
  }

  /**
   * What the channel does beside a message when #19 deletes or edits it: one place to call.
   * A deleted message's attachments (records at once, objects right after) and its search entry
   * go; an edited one is found by its new text. Tests call it through `runInDurableObject`.
   */
  readonly hooks: MessageHooks = {
    deleted: async (seq) => {
      this.#search.deleted(seq);
      await this.#attachments.deleteForMessage(seq);
    },
    edited: (seq, m) => this.#search.edited(seq, m),
  };

  /** Uploads never sent, swept with their bytes; the alarm comes back for the next. */
  async #sweepUploads(): Promise<void> {
    if (!this.#store.channel()) return;
    const next = await this.#attachments.sweep(Date.now());
    if (next !== null) this.#armAlarm(Math.max(1_000, next - Date.now()));
  }

  /** How far the search index is behind the head (tests and the benchmark); `flush` indexes now. */
  async searchIndexBehind(flush = false): Promise<number> {
    if (flush && this.#created) await this.#search.run();
    return this.#created ? this.#search.behind() : 0;
  }

  // -------------------------------------------------------------------------------------------
  // RPC from user objects.

  /** A device of this member acknowledged receipt up to `seq` (through its user socket). */
  async markDelivered(userId: string, seq: number): Promise<RpcResult<void>> {
    return rpcCall(() => {
      this.#markDelivered(userId, seq);
    });
  }

  /** For a user object resuming a device: the member's messages after `afterSeq`. */
  async readAfter(userId: string, afterSeq: number, limit: number): Promise<RpcResult<ReadAfterResult>> {
    return rpcCall(() => this.#reading(this.#pages.forward(this.#requireActive(userId), afterSeq, limit)));
  }

  /** A device of this member connected: its updates must not wait out a long fold. */
  async deviceConnected(userId: string): Promise<void> {
    if (this.#created) this.#updates.deviceConnected(userId);
  }

  /** A member's presence changed; tell whoever is viewing the channel (but whom they blocked). */
  async presenceChanged(userId: string, status: "online" | "offline", lastActiveAt: number): Promise<void> {
    const channel = this.#channel();
    if (!channel || !this.#isActive(userId) || this.#sockets.size === 0) return;
    this.#showActivity([{ user_id: userId, status, last_active_at: lastActiveAt }], ([p]) => ({
      v: 1,
      type: "presence",
      channel_id: channel.channelId,
      ...p!,
    }));
  }

  /** Closes a revoked device's sockets here. */
  async disconnectDevice(deviceId: string): Promise<void> {
    this.#sockets.close(this.ctx.getWebSockets(deviceId), CLOSE.revoked, "this device was signed out");
  }

  /** How many update calls this object made to each user object (tests and the benchmark). */
  async updateCalls(): Promise<Record<string, number>> {
    return Object.fromEntries(this.#updates.calls);
  }

  /** The archive's state (tests and the benchmark). */
  async archiveStats(): Promise<ArchiveStats> {
    return this.#sealer.stats(this.ctx.storage.sql.databaseSize);
  }

  /** Empties this isolate's cache of archived segments (the benchmark's cold reads). */
  async dropArchiveCache(): Promise<void> {
    segmentCache.clear();
  }

  /** The backstop: D1's copy, whatever updates are still owed, presence subscriptions. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    if (!this.#created) return;
    this.#store.persistBatched();
    this.#watchMembers(true);
    // Archive work a crash interrupted (or that failed): it runs beside the rest, which must not
    // wait on R2, and the alarm's invocation lasts until it is done.
    const sealing = this.#store.channel()
      ? this.#sealer.run().catch((err) => this.#sealFailed(err))
      : Promise.resolve();
    // The index catches up (after a crash, or with a history older than it); uploads never sent go.
    const indexing = this.#search.run().catch((err) => this.#retryLater("search index", err));
    const sweeping = this.#sweepUploads().catch((err) => this.#retryLater("attachments", err));
    try {
      await this.#backstop();
      await this.#runHooks();
    } finally {
      await Promise.all([sealing, indexing, sweeping]);
    }
  }

  /** Runs the hooks edits and deletes owe (`hooks`: attachments, search); the alarm retries a failure. */
  #runHooks(): Promise<void> {
    return this.#entries.runHooks(this.hooks).catch((err) => this.#retryLater("message hooks", err));
  }

  /** The alarm's checks: D1's copy, and updates owed that nothing has in hand. */
  async #backstop(): Promise<void> {
    await this.#syncD1().catch((err) => this.#retryLater("D1 copy", err));
    const owed = this.#store.lagging(this.#channel()?.headSeq ?? 0);
    // Owed updates the live object has in hand (folded for a window, or in flight) are not a
    // failure: they only need the backstop kept in case this object dies before sending them.
    const stranded = owed.filter((userId) => !this.#updates.inHand(userId));
    if (stranded.length === 0) {
      this.#retries = 0;
      if (owed.length > 0) this.#armAlarm(SAFETY_NET_MAX_MS);
      return;
    }
    this.#updates.notify(stranded);
    this.#armAlarm(Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** this.#retries++));
  }

  // -------------------------------------------------------------------------------------------
  // The message path.

  /**
   * Validates and stores a message, or finds the one this client id already stored. Synchronous
   * but for one case: a key that may belong to an archived message is confirmed against R2 first.
   */
  #append(
    senderId: string,
    clientMsgId: string,
    text: string,
    attachmentIds?: string[],
  ): Appended | Promise<Appended> {
    const channel = this.#requireWritable(senderId);
    checkMessageText(text, attachmentIds !== undefined && attachmentIds.length > 0);
    // Idempotent with no time window: the key is stored with the message itself (and kept in
    // `sealed_keys` once the row is archived), and a retry gets the message first stored under it.
    const candidates = this.#store.sealedCandidates(senderId, clientMsgId);
    if (candidates.length > 0)
      return this.#appendAfterArchived(candidates, senderId, clientMsgId, text, attachmentIds);
    return this.#storeNew(channel, senderId, clientMsgId, { text }, attachmentIds);
  }

  /** The channel, when `userId` may post (or upload) in it now; the refusal otherwise. */
  #requireWritable(userId: string): ChannelRow {
    const channel = this.#requireChannel();
    this.#requireActive(userId);
    requireOpen(channel);
    return channel;
  }

  async #appendAfterArchived(
    seqs: number[],
    senderId: string,
    clientMsgId: string,
    text: string,
    attachmentIds?: string[],
  ): Promise<Appended> {
    for (const seq of seqs) {
      const [m] = await this.#reading(this.#history.after(seq - 1, 1));
      if (m && m.seq === seq && m.sender_id === senderId && m.client_msg_id === clientMsgId)
        return { message: m, fresh: false };
    }
    // Another key with the same 48 bits: this one is new.
    return this.#storeNew(this.#requireChannel(), senderId, clientMsgId, { text }, attachmentIds);
  }

  /**
   * Validates and stores an entry that acts on a message: a reply, an edit, a delete or a
   * reaction (docs/protocol.md §6.10), or finds the one this client id already stored (whatever
   * became of its target since: a retried delete gets its ack). Its target is read first (from
   * R2 when sealed); from there on, the checks, the append and what the entry makes of its
   * target run in one synchronous turn, so they commit together and nothing comes between.
   */
  async #writeEntry(senderId: string, req: EntryRequest): Promise<Appended> {
    this.#requireChannel();
    this.#requireActive(senderId);
    const existing = await this.#existing(senderId, req.client_msg_id);
    if (existing) return { message: existing, fresh: false };
    const attachmentIds = req.kind === "message" ? req.attachments : undefined;
    if (req.kind === "message")
      checkMessageText(req.text, attachmentIds !== undefined && attachmentIds.length > 0);
    if (req.kind === "edit") checkMessageText(req.text);
    const target = await this.#reading(this.#entries.find(req));
    const channel = this.#requireChannel();
    const member = this.#requireActive(senderId);
    // You can always take back what you wrote, even in a 1:1 chat that is blocked or closed.
    if (req.kind !== "delete") requireOpen(channel);
    const checked = this.#entries.check(req, target, member, channel.kind);
    const appended = this.#storeNew(channel, senderId, req.client_msg_id, checked.fields, attachmentIds);
    if (!appended.fresh) return appended;
    const { entry, scrub } = this.#entries.applied(appended.message, checked.target);
    if (scrub) this.#sealer.kick();
    if (entry.type === "edit" || entry.type === "delete") setTimeout(() => this.#runHooks(), 0);
    return { message: entry, fresh: true };
  }

  /** The entry this sender already stored under this client id, in SQLite or archived; or null. */
  async #existing(senderId: string, clientMsgId: string): Promise<WireMessage | null> {
    const hot = this.#store.byClientMsgId(senderId, clientMsgId);
    if (hot) return hot;
    for (const seq of this.#store.sealedCandidates(senderId, clientMsgId)) {
      const [m] = await this.#reading(this.#history.after(seq - 1, 1));
      if (m && m.seq === seq && m.sender_id === senderId && m.client_msg_id === clientMsgId) return m;
    }
    return null;
  }

  #storeNew(
    channel: ChannelRow,
    senderId: string,
    clientMsgId: string,
    fields: Pick<NewEntry, "type" | "text" | "reply_to" | "target_seq" | "emoji">,
    attachmentIds?: string[],
  ): Appended {
    let attachments: WireAttachment[] | undefined;
    if (attachmentIds && attachmentIds.length > 0) {
      // A retry of a message with attachments finds them claimed by its first copy: answer with
      // that copy before checking them (text-only sends skip this read; the insert below is
      // idempotent by itself).
      const existing = this.#store.byClientMsgId(senderId, clientMsgId);
      if (existing) return { message: existing, fresh: false };
      attachments = this.#attachments.claim(senderId, attachmentIds);
    }
    // The id's time is the message's `ts`, exactly: the generator keeps ids monotonic by reusing
    // the last time it gave when the clock has not passed it, and a jump to a message by id
    // finds its segment by that time (storage/channel/history.ts, `byId`).
    const id = newId(Date.now());
    const ts = decodeTime(id);
    const message: NewEntry = {
      channel_id: channel.channelId,
      id,
      sender_id: senderId,
      client_msg_id: clientMsgId,
      ts,
      ...fields,
      ...(attachments && { attachments }),
    };
    this.#sealer.makeRoom();
    const stored = this.#store.append(message);
    if (stored === null) {
      const existing = this.#store.byClientMsgId(senderId, clientMsgId);
      if (!existing) throw new Error(`message ${clientMsgId} of ${senderId} neither stored nor found`);
      return { message: existing, fresh: false };
    }
    this.#sealer.noteRows();
    // In the same commit as the message: the uploads now belong to it.
    if (attachmentIds && attachments) this.#attachments.attach(attachmentIds, stored.seq);
    this.#search.noteNew();
    // Armed in the same event as the write: if we die before the fan-out, the alarm sends it.
    // Each channel on its own slot of the next 5 s: channels that start together after a quiet
    // spell (a deploy, a benchmark) do not then fire together. The same alarm finishes archive
    // work a crash interrupted; a run of messages ready to seal (or a sealed segment due to leave
    // SQLite) starts the sealer right after this event.
    if (this.#alarmAt === null || this.#alarmAt > ts + SAFETY_NET_MAX_MS)
      this.#armAlarm(SAFETY_NET_MS + phaseOf(channel.channelId, SAFETY_NET_MS));
    if (this.#sealer.due()) this.#sealer.kick();
    return { message: stored, fresh: true };
  }

  /** The send limits of this user's device here, and of the user everywhere (SendLimits). */
  #admitSend(userId: string, deviceId: string, budget: EntryBudget = "message"): void {
    const wait = this.#sends.admit(userId, deviceId, Date.now(), budget);
    if (wait > 0) throw rateLimited(BUDGET_NAMES[budget], wait);
  }

  /** Renames and membership changes of this channel (each rewrites D1's copy and updates members). */
  #admitMemberChange(): void {
    const wait = this.#memberChanges.take(Date.now());
    if (wait > 0) throw rateLimited("membership changes in this group", wait);
  }

  #ack(m: WireMessage): Ack {
    return {
      client_msg_id: m.client_msg_id,
      channel_id: m.channel_id,
      seq: m.seq,
      id: m.id,
      ts: m.ts,
      msg_count: m.msg_count,
      hash: m.hash,
    };
  }

  /** Broadcasts to the channel sockets held here, then owes every member's user object. */
  #deliver(message: WireMessage, sender: WebSocket | null): void {
    this.#sends.stored(message.sender_id);
    if (message.type !== undefined) {
      this.#deliverEntry(message, sender);
      return;
    }
    // The message ends its sender's typing indicator: clients hide it when the message arrives.
    this.#typing.stop(message.sender_id, message.ts);
    this.#typists.forget(message.sender_id);
    // Whoever sends has read up to their own message: it is never unread for them. Silent (no
    // `read` frame on the hot path); the sender's user object gets it with this update.
    this.#store.markRead(message.sender_id, message.seq);
    this.#saveSoon();
    this.#sockets.deliver(message, sender);
    // Kept in this turn: deferring it to a timer (so the commit, and the frames, would not wait
    // for a hundred kicks of the fold) moved no percentile and cost a timer per message, ~7 % of
    // the 1:1 path's CPU in a profile (docs/performance.md).
    this.#updates.notify(this.#activeMembers().map((m) => m.userId));
  }

  /**
   * An edit, a delete or a reaction: it moves no read marker and ends no typing (docs/protocol.md
   * §6.10), and reaches channel sockets folded (§6.5): a reaction storm costs each socket a frame
   * per interval, not one per reaction.
   */
  #deliverEntry(entry: WireMessage, sender: WebSocket | null): void {
    const prevHash = this.#store.hashAt(entry.seq - 1) ?? "";
    if (this.#sockets.hold(entry, sender, prevHash)) this.#entryFold.changed("entries");
    this.#updates.notify(this.#activeMembers().map((m) => m.userId));
  }

  /**
   * One page of messages after `afterSeq` for a channel socket; live again once complete. A page
   * from R2 is read while other events run: it is complete only if it reaches the head as it is
   * then, so messages stored meanwhile come in the next page, never skipped.
   */
  async #sync(
    ws: WebSocket,
    userId: string,
    afterSeq: number,
    limit: number,
    ref: string | undefined,
  ): Promise<void> {
    const member = this.#requireActive(userId);
    const channel = this.#requireChannel();
    const page = await this.#reading(this.#pages.forward(member, afterSeq, limit));
    // Entries still folded for this socket go first: the page may repeat some (clients keep the first copy).
    this.#sockets.flushPending(ws);
    this.#sockets.paged(ws, page.next_after_seq, page.complete);
    this.#sockets.send(
      ws,
      JSON.stringify({
        v: 1,
        type: "messages",
        channel_id: channel.channelId,
        messages: page.messages,
        complete: page.complete,
        next_after_seq: page.next_after_seq,
        prev_hash: page.prev_hash,
        ...(ref && { ref }),
      } satisfies ServerFrame),
    );
  }

  /**
   * DELIVERED: markers only move forward. A move is shown to the channel's sockets with the
   * next `receipts` frame (at most one per interval) and written with the next batch.
   */
  #markDelivered(userId: string, seq: number): void {
    this.#requireActive(userId);
    const channel = this.#requireChannel();
    const before = this.#store.member(userId)?.deliveredSeq ?? 0;
    if (this.#store.markDelivered(userId, Math.min(seq, channel.headSeq)) > before)
      this.#movedMarkers(userId);
  }

  /** READ, the same way; the reader's user object is owed the new marker (badges, other devices). */
  #markRead(userId: string, seq: number): number {
    this.#requireActive(userId);
    const channel = this.#requireChannel();
    const before = this.#store.member(userId)?.readSeq ?? 0;
    const after = this.#store.markRead(userId, Math.min(seq, channel.headSeq));
    if (after > before) {
      this.#movedMarkers(userId);
      this.#updates.notify([userId]);
    }
    return after;
  }

  #movedMarkers(userId: string): void {
    this.#receipts.changed(userId);
    this.#saveSoon();
  }

  /** One `receipts` frame to every socket: the markers of the members that moved since the last. */
  #sendReceipts(userIds: string[]): void {
    const channel = this.#channel();
    if (!channel || this.#sockets.size === 0) return;
    const members: MemberReceipt[] = [];
    for (const userId of userIds) {
      const m = this.#store.member(userId);
      if (m && m.removedAt === null) members.push(receiptOf(m));
    }
    if (members.length > 0)
      this.#showActivity(members, (seen) => ({
        v: 1,
        type: "receipts",
        channel_id: channel.channelId,
        members: seen,
      }));
  }

  /** One `typing` frame to every socket: the members who started typing since the last. */
  #sendTyping(userIds: string[]): void {
    const channel = this.#channel();
    if (!channel || this.#sockets.size === 0) return;
    const now = Date.now();
    const users: { user_id: string; expires_at: number }[] = [];
    for (const userId of userIds) {
      const expiresAt = this.#typing.expiresAt(userId, now);
      if (expiresAt !== null) users.push({ user_id: userId, expires_at: expiresAt });
    }
    if (users.length > 0)
      this.#showActivity(users, (seen) => ({
        v: 1,
        type: "typing",
        channel_id: channel.channelId,
        users: seen,
      }));
  }

  /** The user's last socket here closed: a showing indicator ends at once. */
  #stopTyping(userId: string): void {
    const channelId = this.#channel()?.channelId;
    this.#typists.forget(userId);
    if (channelId && this.#typing.stop(userId, Date.now())) {
      this.#showActivity([{ user_id: userId }], () => ({
        v: 1,
        type: "typing_stopped",
        channel_id: channelId,
        user_id: userId,
      }));
    }
  }

  /**
   * Shows members' activity (entries of presence, typing or markers, each about `user_id`) to
   * every socket, leaving out, for each reader, what members who blocked that reader did. Most
   * readers are blocked by nobody and share one serialized frame; a frame left empty is not sent.
   */
  #showActivity<E extends { user_id: string }>(entries: E[], frame: (seen: E[]) => ServerFrame): void {
    const shared = JSON.stringify(frame(entries));
    const blockers = this.#store.blockers();
    this.#sockets.broadcastPer((reader) => {
      const hidden = blockers.get(reader);
      if (!hidden) return shared;
      const seen = entries.filter((e) => !hidden.has(e.user_id));
      if (seen.length === entries.length) return shared;
      return seen.length > 0 ? JSON.stringify(frame(seen)) : null;
    });
  }

  /** Keeps the blocks of `pairs` between current members (others are no business of this channel). */
  #keepBlocks(pairs: BlockPair[]): void {
    for (const [blocker, blocked] of pairs)
      if (this.#isActive(blocker) && this.#isActive(blocked)) this.#store.setBlock(blocker, blocked, true);
  }

  // -------------------------------------------------------------------------------------------
  // Membership and bookkeeping.

  /** Owes the affected members an update and brings D1's copy in step (awaited for listings). */
  async #afterMembershipChange(owed: string[]): Promise<void> {
    this.#armAlarm(SAFETY_NET_MS);
    this.#updates.notify(owed);
    await this.#syncD1().catch((err) => this.#retryLater("D1 copy", err));
  }

  async #syncD1(): Promise<void> {
    const c = this.#channel();
    if (!c || c.d1Rev >= c.metaRev) return;
    const members = this.#activeMembers().map((m) => ({
      userId: m.userId,
      role: m.role,
      joinedAt: m.joinedAt,
    }));
    await writeChannelMirror(
      openDb(this.env.DB),
      { id: c.channelId, kind: c.kind, name: c.name, ownerId: c.ownerId, createdAt: c.createdAt, members },
      Date.now(),
    );
    this.#store.markD1Synced(c.metaRev);
  }

  /**
   * While sockets are open here, subscribes to every member's presence (renewed halfway
   * through by the alarm); with no socket, the subscriptions lapse by themselves.
   * A subscription that lapsed (or that this object's memory no longer knows of, after an
   * eviction) goes at once, as someone is viewing the channel now. A renewal (`renewal`, or
   * subscriptions still running) is spread over RENEW_SPREAD_MS, each member on its own slot:
   * a burst of one call and one commit per member held up the messages behind it (the
   * channels of a benchmark, set up together, renewed together).
   */
  #watchMembers(renewal = false): void {
    const now = Date.now();
    const channelId = this.#channel()?.channelId;
    if (this.ctx.getWebSockets().length === 0 || !channelId) {
      this.#watchingUntil = 0;
      return;
    }
    if (this.#watchingUntil - now <= WATCH_TTL_MS / 2) {
      const spread = renewal || this.#watchingUntil > now;
      const until = now + WATCH_TTL_MS;
      this.#watchingUntil = until;
      for (const m of this.#activeMembers()) {
        const watch = () =>
          this.env.USER_INBOX.getByName(m.userId)
            .watchPresence(channelId, until)
            .catch((err) => this.#retryLater(`presence watch of ${m.userId}`, err));
        if (spread) setTimeout(() => this.ctx.waitUntil(watch()), phaseOf(m.userId, RENEW_SPREAD_MS));
        else this.ctx.waitUntil(watch());
      }
    }
    // Always (re)armed for the renewal: an earlier alarm may have taken the slot meanwhile.
    this.#armAlarm(this.#watchingUntil - WATCH_TTL_MS / 2 - now);
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
    const c = this.#channel();
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

  #isActive(userId: string): boolean {
    const m = this.#store.member(userId);
    return m !== null && m.removedAt === null;
  }

  #requireActive(userId: string): MemberRow {
    this.#requireChannel();
    const m = this.#store.member(userId);
    if (!m || m.removedAt !== null)
      throw new ChatError("not_a_member", "you are not a member of this channel");
    return m;
  }

  /** Writes what waits in memory for its batch (ChannelStore.persistBatched) within SAVE_BATCH_MS. */
  #saveSoon(): void {
    if (this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = null;
      this.#store.persistBatched();
    }, SAVE_BATCH_MS);
  }

  #armAlarm(inMs: number): void {
    const at = Date.now() + inMs;
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  /**
   * The send→ack metric: from the frame's arrival to the moment its write is durable, which is
   * when the output gate lets the ack out (`sync()` resolves then). Nothing waits for it: the
   * promise only times the commit that happens anyway, and the data point is fire-and-forget.
   * Measured after a commit because the clock does not move while an event runs.
   */
  #measureAck(arrived: number, via: "socket" | "rest"): void {
    // Waiting on the commit for every socket send moved the 1:1 send->ack p50 by about 0.05 ms
    // (docs/performance.md, issue #19's section), so socket sends are sampled; each point carries
    // its weight, so counts stay exact in expectation (docs/operations.md, send_ack).
    const weight = via === "socket" ? ACK_SAMPLE_EVERY : 1;
    if (via === "socket" && this.#socketAcks++ % ACK_SAMPLE_EVERY !== 0) return;
    void this.ctx.storage.sync().then(
      () => this.#metrics.sendAck(Date.now() - arrived, via, weight),
      () => {},
    );
  }

  #sealFailed(err: unknown): void {
    this.#metrics.archiveSeal("failed", 0);
    this.#retryLater("archive", err);
  }

  #retryLater(what: string, err: unknown): void {
    const channel = this.#channel()?.channelId;
    log.warn("channel.retry_later", { channel_id: channel, what, error: errorText(err) });
    this.#armAlarm(Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** this.#retries));
  }

  /** A read that may touch the archive, its failures as the errors a client gets (`readingArchive`). */
  #reading<T>(read: Promise<T>): Promise<T> {
    return readingArchive(read, this.#store.channel()?.channelId);
  }

  #asChatError(err: unknown): ChatError {
    if (err instanceof ChatError) return err;
    const ref = newId();
    const channel = this.#channel()?.channelId;
    log.error("channel.internal_error", {
      channel_id: channel,
      ref,
      error: errorText(err),
      stack: stackOf(err),
    });
    return new ChatError("internal", `something went wrong (ref ${ref})`);
  }
}

/** Why a write was refused for its rate, per budget (SendLimits). */
const BUDGET_NAMES: Record<EntryBudget, string> = {
  message: "messages",
  edit: "edits and deletes",
  reaction: "reactions",
};

/** The budget an entry counts against: deletes share the edits'. */
function budgetOf(req: EntryRequest): EntryBudget {
  if (req.kind === "edit" || req.kind === "delete") return "edit";
  return req.kind === "reaction" ? "reaction" : "message";
}

/** A channel socket's write frame as the request ChannelRoom writes (the same as REST's). */
function entryRequest(
  frame: Extract<ChannelClientFrame, { type: "send" | "edit" | "delete" | "react" }>,
): EntryRequest {
  const base = { client_msg_id: frame.client_msg_id };
  switch (frame.type) {
    case "send":
      return {
        kind: "message",
        ...base,
        text: frame.text,
        ...(frame.attachments !== undefined && { attachments: frame.attachments }),
        ...(frame.reply_to !== undefined && { reply_to: frame.reply_to }),
      };
    case "edit":
      return { kind: "edit", ...base, target_seq: frame.target_seq, text: frame.text };
    case "delete":
      return { kind: "delete", ...base, target_seq: frame.target_seq };
    case "react":
      return { kind: "reaction", ...base, target_seq: frame.target_seq, emoji: frame.emoji };
  }
}

/** Nobody posts, edits or reacts in a 1:1 chat that is blocked or closed (docs/protocol.md §6). */
function requireOpen(channel: ChannelRow): void {
  if (channel.blockedBy !== "[]") throw new ChatError("blocked", "this conversation is blocked");
  if (channel.closedReason === "account_deleted")
    throw new ChatError("not_friends", "the other account was deleted: this conversation is read-only");
  if (channel.closedReason === "not_friends")
    throw new ChatError("not_friends", "you are no longer friends: this conversation is read-only");
}

interface Appended {
  message: WireMessage;
  /** False for a retry: the message was stored before, nothing new to deliver. */
  fresh: boolean;
}

/**
 * Which fold a member's update went through, from what its user object answered: no device
 * connected (the quiet window), every device viewing the channel here (the viewers' window), or
 * a device that needs the live copy (the fast window). docs/operations.md reads lag per kind.
 */
function fanoutKind(update: InboxUpdate, result: InboxUpdateResult): "offline" | "viewing" | "live" {
  if (result.devices.length === 0) return "offline";
  return result.devices.every((d) => update.viewing_devices.includes(d)) ? "viewing" : "live";
}

/** A member's markers as clients see them: reading implies delivery (docs/protocol.md §6.4). */
function receiptOf(m: MemberRow): MemberReceipt {
  return {
    user_id: m.userId,
    joined_seq: m.joinedSeq,
    delivered_seq: Math.max(m.deliveredSeq, m.readSeq),
    read_seq: m.readSeq,
  };
}

/** Whether this object's database holds the channel's tables (read-only: creates nothing). */
function hasTables(sql: SqlStorage): boolean {
  return (
    sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'channel'").toArray().length > 0
  );
}
