/**
 * @module client/receipts
 * Each channel member's delivered and read markers, as a snapshot
 * (`GET /v1/channels/{id}/receipts`, read after each channel socket `hello`) with `receipts`
 * frames applied on top, keeping the larger value of each (docs/protocol.md §6.4). From them,
 * `ticks` counts a message of mine: "delivered to 80 of 99, read by 37" (§8.4).
 */
import type { Receipts, Ticks } from "./types.ts";

interface Markers {
  joined_seq: number;
  delivered_seq: number;
  read_seq: number;
}

export class ReceiptBook {
  readonly #channels = new Map<string, Map<string, Markers>>();

  /** Applies a snapshot: current members only, never lowering what frames brought meanwhile. */
  snapshot(r: Receipts): void {
    const known = this.#channels.get(r.channel_id);
    const members = new Map<string, Markers>();
    for (const m of r.members) {
      const k = known?.get(m.user_id);
      const read = Math.max(m.read_seq, k?.read_seq ?? 0);
      members.set(m.user_id, {
        joined_seq: m.joined_seq,
        read_seq: read,
        delivered_seq: Math.max(m.delivered_seq, k?.delivered_seq ?? 0, read),
      });
    }
    this.#channels.set(r.channel_id, members);
  }

  /** A member's entry of a `receipts` frame (or of a snapshot): each marker only moves forward. True if it changed something. */
  update(channelId: string, r: Receipts["members"][number]): boolean {
    const members = this.#channels.get(channelId);
    const known = members?.get(r.user_id);
    const raisedRead = this.raise(channelId, r.user_id, "read_seq", r.read_seq);
    const raisedDelivered = this.raise(channelId, r.user_id, "delivered_seq", r.delivered_seq);
    const m = this.#channels.get(channelId)?.get(r.user_id);
    if (m && (!known || known.joined_seq !== r.joined_seq)) m.joined_seq = r.joined_seq;
    return raisedRead || raisedDelivered || !known;
  }

  /** A member's marker moved, as a `receipts` entry or their own message (it moves their read marker) says. True if it changed something. */
  raise(channelId: string, userId: string, marker: "read_seq" | "delivered_seq", seq: number): boolean {
    let members = this.#channels.get(channelId);
    if (!members) {
      members = new Map();
      this.#channels.set(channelId, members);
    }
    const m = members.get(userId) ?? { joined_seq: 0, delivered_seq: 0, read_seq: 0 };
    if (m[marker] >= seq) return false;
    const next = { ...m, [marker]: seq };
    next.delivered_seq = Math.max(next.delivered_seq, next.read_seq); // reading implies delivery
    members.set(userId, next);
    return true;
  }

  /** Ticks of a message of `me` at `seq`: counts the other members who could see it (joined before it). */
  ticks(channelId: string, seq: number, me: string | undefined): Ticks {
    let others = 0;
    let delivered = 0;
    let read = 0;
    for (const [userId, m] of this.#channels.get(channelId) ?? []) {
      if (userId === me || m.joined_seq >= seq) continue;
      others++;
      if (m.delivered_seq >= seq) delivered++;
      if (m.read_seq >= seq) read++;
    }
    return { others, delivered, read };
  }

  forget(channelId: string): void {
    this.#channels.delete(channelId);
  }

  clear(): void {
    this.#channels.clear();
  }
}
