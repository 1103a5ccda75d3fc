/**
 * @module durable-objects/user-inbox/pushes
 * When to queue a push notification, decided by the user object when a channel's update
 * arrives and none of the user's devices is connected. One job stands for the newest message
 * from someone else (a reference and at most a 100-character preview, never the body). At
 * most one job per channel is in flight; a newer one waits for it and replaces any older
 * waiting one, so a burst collapses to a few requests (and the push service keeps only the
 * newest per channel `Topic` anyway). The consumer reports back through `settled`, and asks
 * before each retry whether the job is still wanted (`retryWanted`).
 *
 * The in-flight job and the waiting message are in the object's SQLite (`pushes`), not in
 * memory: an idle user object is evicted within seconds, usually while its job is still being
 * retried, and the waiting notification must still go once the job settles (#16).
 */
import { messagePreview } from "../../domain/attachments.ts";
import type { WireMessage } from "../../protocol/frames.ts";
import type { PushJob } from "../../protocol/push.ts";
import type { InboxStore, PushRef } from "../../storage/user/store.ts";

/** A job the consumer never reported back counts as in flight no longer than this. */
const IN_FLIGHT_MAX_MS = 5 * 60_000;

export interface PushesDeps {
  store: InboxStore;
  userId: string;
  /** True while a device of the user holds a user socket (then nobody needs a push). */
  online(): boolean;
  now(): number;
  enqueue(job: PushJob): Promise<void>;
}

export class Pushes {
  readonly #d: PushesDeps;

  constructor(deps: PushesDeps) {
    this.#d = deps;
  }

  /** New messages of a channel reached this user while no device was connected. */
  async offline(channelId: string, messages: WireMessage[]): Promise<void> {
    // Messages only: an edit, a delete or a reaction never sends a push (docs/protocol.md §6.10).
    const newest = messages.findLast((m) => m.type === undefined && m.sender_id !== this.#d.userId);
    if (!newest) return;
    const ref: PushRef = {
      seq: newest.seq,
      messageId: newest.id,
      senderId: newest.sender_id,
      preview: messagePreview(newest.text, newest.attachments),
    };
    const state = this.#d.store.pushState(channelId);
    const flying = state?.inFlight;
    if (flying && this.#d.now() - flying.at < IN_FLIGHT_MAX_MS) {
      if (!state.waiting || state.waiting.seq < ref.seq)
        this.#d.store.setPushState(channelId, { inFlight: flying, waiting: ref });
      return;
    }
    await this.#push(channelId, ref);
  }

  /** The consumer is done with the channel's job: the waiting message, if any, goes now. */
  async settled(channelId: string, seq: number): Promise<void> {
    const state = this.#d.store.pushState(channelId);
    if (!state) return;
    // A newer job is in flight (this report is late): its own report lets the waiting one go.
    if (state.inFlight && state.inFlight.seq > seq) return;
    const next = state.waiting;
    // Checked again now: the user may have come online, read it or muted the channel since.
    if (!next || next.seq <= seq || this.#d.online()) {
      this.#d.store.setPushState(channelId, { inFlight: null, waiting: null });
      return;
    }
    await this.#push(channelId, next);
  }

  /**
   * The consumer is about to retry the job for (channel, seq), attempt number `attempt`: it is
   * dropped, for every device, once a device of the user is connected, or the message was read,
   * or the channel was muted or left. Records the attempt for the dead-letter record.
   */
  retryWanted(channelId: string, seq: number, attempt: number): boolean {
    const state = this.#d.store.pushState(channelId);
    const flying = state?.inFlight;
    if (state && flying?.seq === seq && attempt > flying.attempts)
      this.#d.store.setPushState(channelId, { ...state, inFlight: { ...flying, attempts: attempt } });
    if (this.#d.online()) return false;
    const channel = this.#d.store.channel(channelId);
    return channel !== null && !channel.muted && channel.readSeq < seq;
  }

  /** Attempts the consumer made at the job for (channel, seq), if it is still the one in flight. */
  attempts(channelId: string, seq: number): number | null {
    const flying = this.#d.store.pushState(channelId)?.inFlight;
    return flying?.seq === seq ? flying.attempts : null;
  }

  /**
   * Queues the job for `ref` (unless the channel is gone, muted or read that far) and records
   * it in flight. The record is written before the send, so an update arriving meanwhile waits
   * behind it; if the send fails, `ref` is left waiting with nothing in flight (the next update
   * or report queues it) and the error goes to the caller, which retries.
   */
  async #push(channelId: string, ref: PushRef): Promise<void> {
    const store = this.#d.store;
    const channel = store.channel(channelId);
    if (!channel || channel.muted || channel.readSeq >= ref.seq) {
      store.setPushState(channelId, { inFlight: null, waiting: null });
      return;
    }
    const now = this.#d.now();
    const job: PushJob = {
      v: 1,
      user_id: this.#d.userId,
      channel_id: channelId,
      seq: ref.seq,
      message_id: ref.messageId,
      sender_id: ref.senderId,
      preview: store.hidePreviews() ? null : ref.preview,
      badge: store.unreadChannels(),
      queued_at: now,
    };
    store.setPushState(channelId, { inFlight: { seq: ref.seq, at: now, attempts: 1 }, waiting: null });
    try {
      await this.#d.enqueue(job);
    } catch (err) {
      store.setPushState(channelId, { inFlight: null, waiting: ref });
      throw err;
    }
  }
}
