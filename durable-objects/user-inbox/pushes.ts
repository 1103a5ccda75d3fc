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
  now(): number;
  enqueue(job: PushJob): Promise<void>;
}

export class Pushes {
  readonly #d: PushesDeps;
  readonly #inFlight = new Map<string, { seq: number; at: number }>();
  readonly #waiting = new Map<string, PushJob>();

  constructor(deps: PushesDeps) {
    this.#d = deps;
  }

  /** New messages of a channel reached this user while no device was connected. */
  async offline(channelId: string, messages: WireMessage[]): Promise<void> {
    const store = this.#d.store;
    const channel = store.channel(channelId);
    const newest = messages.findLast((m) => m.sender_id !== this.#d.userId);
    if (!channel || channel.muted || !newest || channel.readSeq >= newest.seq) return;
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
    const flying = this.#inFlight.get(channelId);
    if (flying && this.#d.now() - flying.at < IN_FLIGHT_MAX_MS) {
      this.#waiting.set(channelId, job);
      return;
    }
    await this.#send(job);
  }

  /** The consumer is done with the channel's job: the waiting one, if any, goes now. */
  async settled(channelId: string, seq: number): Promise<void> {
    const flying = this.#inFlight.get(channelId);
    if (flying && flying.seq <= seq) this.#inFlight.delete(channelId);
    const next = this.#waiting.get(channelId);
    if (!next || this.#inFlight.has(channelId)) return;
    this.#waiting.delete(channelId);
    if (next.seq > seq) await this.#send(next);
  }

  async #send(job: PushJob): Promise<void> {
    this.#inFlight.set(job.channel_id, { seq: job.seq, at: this.#d.now() });
    await this.#d.enqueue(job);
  }
}
