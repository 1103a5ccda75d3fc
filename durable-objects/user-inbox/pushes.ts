/**
 * @module durable-objects/user-inbox/pushes
 * When to queue a push notification, decided by the user object when a channel's update
 * arrives and none of the user's devices is connected. One job stands for the newest message
 * from someone else (a reference and at most a 100-character preview, never the body). At
 * most one job per channel is in flight; a newer one waits for it and replaces any older
 * waiting one, so a burst collapses to a few requests (and the push service keeps only the
 * newest per channel `Topic` anyway). The consumer reports back through `settled`.
 */
import { preview } from "../../domain/message-text.ts";
import type { WireMessage } from "../../protocol/frames.ts";
import type { PushJob } from "../../protocol/push.ts";
import type { InboxStore } from "../../storage/user/store.ts";

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
  readonly #inFlight = new Map<string, { seq: number; at: number }>();
  /** The newest message waiting for the channel's in-flight job to finish. */
  readonly #waiting = new Map<string, WireMessage>();

  constructor(deps: PushesDeps) {
    this.#d = deps;
  }

  /** New messages of a channel reached this user while no device was connected. */
  async offline(channelId: string, messages: WireMessage[]): Promise<void> {
    const newest = messages.findLast((m) => m.sender_id !== this.#d.userId);
    if (!newest) return;
    const flying = this.#inFlight.get(channelId);
    if (flying && this.#d.now() - flying.at < IN_FLIGHT_MAX_MS) {
      this.#waiting.set(channelId, newest);
      return;
    }
    await this.#push(newest);
  }

  /** The consumer is done with the channel's job: the waiting message, if any, goes now. */
  async settled(channelId: string, seq: number): Promise<void> {
    const flying = this.#inFlight.get(channelId);
    if (flying && flying.seq <= seq) this.#inFlight.delete(channelId);
    const next = this.#waiting.get(channelId);
    if (!next || this.#inFlight.has(channelId)) return;
    this.#waiting.delete(channelId);
    // Checked again now: the user may have come online, read it or muted the channel since.
    if (next.seq > seq && !this.#d.online()) await this.#push(next);
  }

  async #push(newest: WireMessage): Promise<void> {
    const store = this.#d.store;
    const channelId = newest.channel_id;
    const channel = store.channel(channelId);
    if (!channel || channel.muted || channel.readSeq >= newest.seq) return;
    const job: PushJob = {
      v: 1,
      user_id: this.#d.userId,
      channel_id: channelId,
      seq: newest.seq,
      message_id: newest.id,
      sender_id: newest.sender_id,
      preview: store.hidePreviews() ? null : preview(newest.text),
      badge: store.unreadChannels(),
      queued_at: this.#d.now(),
    };
    this.#inFlight.set(channelId, { seq: job.seq, at: this.#d.now() });
    await this.#d.enqueue(job);
  }
}
