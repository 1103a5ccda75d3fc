/**
 * @module durable-objects/channel-room/member-updates
 * Keeping every member's UserInbox in step with the channel: what it lacks is read from
 * storage (messages after `synced_seq`, row changes after `synced_rev`), `Fanout` decides
 * when to call, and this module decides how long to fold:
 * - 100 ms (`FANOUT_WINDOW_MS`) for a member with a device that needs a live copy;
 * - 5 s (`VIEWING_WINDOW_MS`) for a member all of whose connected devices are viewing the
 *   channel here: they have every message already, and the user object needs heads, read
 *   markers and the newest message only, for lists and badges, so only the newest is sent.
 *   Its calls keep to a slot of the window that depends on the member (`Fanout` phases), so
 *   100 viewers' updates do not leave as one burst. When one of its channel sockets closes,
 *   what is owed goes at once (`viewerLeft`);
 * - 1 s for a member with no device connected: its user object needs heads and read markers,
 *   not live messages; the first call after a quiet spell still goes at once, as it may bring
 *   a push;
 * - wider under load: fast calls are budgeted at ~1 ms each per channel.
 * The user object answers each update with the devices it holds, which is how the channel
 * knows; a device connecting is reported by `deviceConnected`.
 *
 * Each update carries the message counts (docs/protocol.md §2.1 `msg_count`) at the head, the
 * read marker and the join point, so the user object counts unread in messages, never in edits,
 * deletes or reactions, and the newest message as the list shows it (edited, deleted).
 */
import { phaseOf } from "../../domain/slots.ts";
import type { WireMessage } from "../../protocol/frames.ts";
import type { InboxUpdate, InboxUpdateResult } from "../../protocol/rpc.ts";
import type { ChannelHistory } from "../../storage/channel/history.ts";
import type { ChannelStore } from "../../storage/channel/store.ts";
import type { ChannelSockets } from "./channel-sockets.ts";
import { Fanout } from "./fanout.ts";

/** Messages per update to a user object; more follow in the next call. */
const UPDATE_PAGE = 200;
/** The fold window of a member with no device connected (see the module comment). */
export const QUIET_WINDOW_MS = 1_000;
/** The fold window of a member whose devices are all viewing the channel. */
export const VIEWING_WINDOW_MS = 5_000;
/**
 * CPU budget per fast update call: windows widen to keep them under ~1,000/s per channel
 * (measured: a call costs both objects about 0.5 ms locally; docs/performance.md).
 */
const FAST_CALL_BUDGET_MS = 1;

export interface MemberUpdatesDeps {
  store: ChannelStore;
  /**
   * The channel's messages after `afterSeq`, from SQLite or the archive
   * (storage/channel/history.ts): a member's user object that fell behind by more than the rows
   * SQLite keeps still gets every message, in order.
   */
  read(afterSeq: number, limit: number): Promise<WireMessage[]>;
  /** Message counts and chain hashes at any seq, hot or sealed. */
  history: Pick<ChannelHistory, "msgCountAt" | "hashAt">;
  sockets: ChannelSockets;
  fastWindowMs: number;
  /** Calls the member's user object. */
  send(userId: string, update: InboxUpdate): Promise<InboxUpdateResult>;
  onError(userId: string, err: unknown): void;
  /** Test seam: true while updates must fail (see ChannelRoom.faults). */
  failing(): boolean;
  /** Sync positions changed in memory: they reach storage with the next batch (see ChannelStore.markSynced). */
  saveSoon(): void;
}

export class MemberUpdates {
  readonly #d: MemberUpdatesDeps;
  readonly #fanout: Fanout;
  /** Per member, the devices its user object last reported connected (unknown: absent). */
  readonly #inboxDevices = new Map<string, string[]>();
  /**
   * Fast members, counted at most once per millisecond: a message kicks every member in one
   * turn, and recounting for each kick made the window O(members²) per message.
   */
  #fast: { at: number; n: number } | null = null;

  constructor(deps: MemberUpdatesDeps) {
    this.#d = deps;
    this.#fanout = new Fanout({
      windowMs: (userId) => this.#windowFor(userId),
      phaseMs: (userId) => (this.#allViewing(userId) ? phaseOf(userId, VIEWING_WINDOW_MS) : null),
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      send: (userId) => this.#update(userId),
      onError: deps.onError,
    });
  }

  /** Something new is owed to these members. */
  notify(userIds: Iterable<string>): void {
    this.#fanout.notify(userIds);
  }

  /** A device of this user connected: stop folding its updates and learn its devices again. */
  deviceConnected(userId: string): void {
    this.#inboxDevices.delete(userId);
    this.#fast = null;
    if (this.#d.store.member(userId)) this.#fanout.hurry(userId);
  }

  /**
   * A channel socket of this member closed: a device that stops viewing needs its user
   * object current (lists, badges, live copies) now, not at the end of a viewer's window.
   */
  viewerLeft(userId: string): void {
    this.#fast = null;
    if (this.#d.store.member(userId)) this.#fanout.hurry(userId);
  }

  /** True while an update to this member is folded for its window or in flight. */
  inHand(userId: string): boolean {
    return this.#fanout.inHand(userId);
  }

  /** Update calls made so far, per member. */
  get calls(): ReadonlyMap<string, number> {
    return this.#fanout.calls;
  }

  /** Sends one member's user object everything it lacks, a page per call. */
  async #update(userId: string): Promise<void> {
    if (this.#d.failing()) throw new Error("fault injected: user updates fail");
    const store = this.#d.store;
    for (;;) {
      const channel = store.channel();
      const member = store.member(userId);
      if (!channel || !member) return;
      const removed = member.removedAt !== null;
      // A removed member may read up to where it left, and no further: what it is still owed up
      // to there goes first, as a member's update; then the removal, naming that seq as the
      // head, so it reveals nothing that happened after.
      const head = removed ? (member.removedSeq ?? channel.headSeq) : channel.headSeq;
      // Devices that all view the channel have every message on their channel sockets: the
      // user object needs only the newest (list preview, stream positions), not a copy of each.
      // A device that connected meanwhile fills its gap from the channel (DeviceStreams).
      const behind = member.syncedSeq < head;
      const messages = !behind
        ? []
        : this.#allViewing(userId)
          ? await this.#d.read(head - 1, 1)
          : (await this.#d.read(member.syncedSeq, UPDATE_PAGE)).filter((m) => m.seq <= head);
      if (messages.length === 0 && member.syncedRev >= member.rev) return;
      // Rows are live copies that may change during the awaits: take what is sent now.
      const rev = member.rev;
      const upTo = messages.at(-1)?.seq ?? member.syncedSeq;
      const removal = removed && messages.length === 0;
      const readSeq = member.readSeq;
      const joinedSeq = member.joinedSeq;
      const joinedMsgCount = member.joinedMsgCount ?? joinedSeq;
      const history = this.#d.history;
      const headMsgCount = removed ? await history.msgCountAt(head) : store.headMsgCount();
      const readMsgCount = await history.msgCountAt(Math.min(readSeq, head));
      // Entries other than messages reach devices as a page, which needs the hash before it.
      const first = messages[0];
      const prevHash =
        first && messages.some((m) => m.type !== undefined) ? await history.hashAt(first.seq - 1) : undefined;
      // The newest message as the list shows it (its edit, its deletion), never one past the head sent.
      const newest = removed ? null : store.lastMessage();
      const last = newest && newest.seq <= head ? newest : undefined;
      const { devices } = await this.#d.send(userId, {
        channel_id: channel.channelId,
        kind: channel.kind,
        name: channel.name,
        head_seq: head,
        read_seq: readSeq,
        joined_seq: joinedSeq,
        head_msg_count: headMsgCount,
        read_msg_count: readMsgCount,
        joined_msg_count: joinedMsgCount,
        ...(last && { last_message: last }),
        removed: removal,
        messages,
        ...(prevHash !== undefined && { prev_hash: prevHash }),
        viewing_devices: [...this.#d.sockets.viewingDevices(userId)],
      });
      this.#inboxDevices.set(userId, devices);
      this.#fast = null;
      if (removal) return store.forgetMember(userId);
      // Before its removal has gone, a removed member's row change is not synced yet.
      store.markSynced(userId, upTo, removed ? member.syncedRev : rev);
      this.#d.saveSoon();
      if (upTo >= head && !removed) return;
    }
  }

  #windowFor(userId: string): number {
    if (this.#allViewing(userId)) return VIEWING_WINDOW_MS;
    if (!this.#needsLiveCopy(userId)) return QUIET_WINDOW_MS;
    return Math.max(this.#d.fastWindowMs, this.#fastMembers() * FAST_CALL_BUDGET_MS);
  }

  #fastMembers(): number {
    const now = Date.now();
    if (this.#fast?.at !== now) {
      let n = 0;
      for (const m of this.#d.store.members()) if (m.removedAt === null && this.#needsLiveCopy(m.userId)) n++;
      this.#fast = { at: now, n };
    }
    return this.#fast.n;
  }

  /** Every device the user object reported (at least one) is viewing this channel. */
  #allViewing(userId: string): boolean {
    const devices = this.#inboxDevices.get(userId);
    if (!devices || devices.length === 0) return false;
    const viewing = this.#d.sockets.viewingDevices(userId);
    return devices.every((d) => viewing.has(d));
  }

  /** True unless every device the user object reported is viewing this channel. */
  #needsLiveCopy(userId: string): boolean {
    const devices = this.#inboxDevices.get(userId);
    if (!devices) return true;
    const viewing = this.#d.sockets.viewingDevices(userId);
    return devices.some((d) => !viewing.has(d));
  }
}
