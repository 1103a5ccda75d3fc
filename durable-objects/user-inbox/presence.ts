/**
 * @module durable-objects/user-inbox/presence
 * A user's presence, kept by their UserInbox. Heartbeats are answered by the runtime
 * (`setWebSocketAutoResponse`) and never wake the object; this capability only reads their
 * timestamps when something else woke it: a socket opening or closing, or its sweep alarm.
 * The alarm is armed only while the user is online (sockets open, or within the grace period
 * after the last one closed), once per timeout on the user's own slot (`sweepSpread`): at most
 * 120 sweeps per online user-hour with the default 30 s. A status change is published once;
 * flaps inside the grace period never are.
 */
import {
  isAlive,
  lastSeen,
  nextSweepAt,
  type PresenceConfig,
  type PresenceStatus,
  type SocketLiveness,
  statusAfterSweep,
  visibleStatus,
} from "../../domain/presence.ts";
import { errorText, log } from "../../observability/log.ts";
import type { InboxStore, PresenceRow } from "../../storage/user/store.ts";

export interface PresenceDeps {
  store: InboxStore;
  config: PresenceConfig;
  /** This user's slot of the sweeps' spread (`sweepSpread`): where its periodic sweeps fall. */
  sweepSlot: number;
  now(): number;
  /** The open user sockets and what the runtime knows of their liveness. */
  sockets(): { ws: WebSocket; liveness: SocketLiveness }[];
  closeDead(ws: WebSocket): void;
  setAlarm(at: number): void;
  /** Tells friends and watching channels what others now see. */
  publish(status: PresenceStatus, lastActiveAt: number): Promise<void>;
}

export class Presence {
  readonly #d: PresenceDeps;
  #publishing: Promise<void> = Promise.resolve();

  constructor(deps: PresenceDeps) {
    this.#d = deps;
  }

  /** The stored state; a user never seen is offline. */
  current(): PresenceRow {
    return (
      this.#d.store.presence() ?? {
        status: "offline",
        lastActiveAt: 0,
        publishedStatus: "offline",
        invisible: false,
      }
    );
  }

  /** What others are shown. */
  visible(): { status: PresenceStatus; last_active_at: number } {
    const p = this.current();
    return { status: visibleStatus(p.status, p.invisible), last_active_at: p.invisible ? 0 : p.lastActiveAt };
  }

  /** A socket opened: online now (no event if it already was, within the grace period). */
  async connected(): Promise<void> {
    const now = this.#d.now();
    this.#save({ ...this.current(), status: "online", lastActiveAt: now });
    this.#d.setAlarm(this.#sweepAt(1, now, now));
    await this.#publishIfChanged();
  }

  /** A socket closed: if it was the last, the grace period starts; nothing is published yet. */
  disconnected(): void {
    const now = this.#d.now();
    const p = this.current();
    this.#save({ ...p, lastActiveAt: Math.max(p.lastActiveAt, now) });
    const live = this.#d.sockets().length;
    this.#d.setAlarm(this.#sweepAt(live, now, now));
  }

  /** The alarm: close sockets whose heartbeats stopped, settle the status, re-arm if online. */
  async sweep(): Promise<void> {
    const now = this.#d.now();
    const cfg = this.#d.config;
    let live = 0;
    let seen = this.current().lastActiveAt;
    for (const { ws, liveness } of this.#d.sockets()) {
      if (isAlive(liveness, now, cfg)) {
        live++;
        seen = Math.max(seen, lastSeen(liveness));
      } else {
        seen = Math.max(seen, lastSeen(liveness));
        this.#d.closeDead(ws);
      }
    }
    const status = statusAfterSweep(live, seen, now, cfg);
    this.#save({ ...this.current(), status, lastActiveAt: seen });
    if (status === "online") this.#d.setAlarm(this.#sweepAt(live, seen, now));
    await this.#publishIfChanged();
  }

  async setInvisible(invisible: boolean): Promise<void> {
    this.#save({ ...this.current(), invisible });
    await this.#publishIfChanged();
  }

  /** Publishes the visible status if it differs from what was last published; one at a time. */
  #publishIfChanged(): Promise<void> {
    this.#publishing = this.#publishing.then(async () => {
      const p = this.current();
      const shown = visibleStatus(p.status, p.invisible);
      if (shown === p.publishedStatus) return;
      try {
        await this.#d.publish(shown, p.invisible ? 0 : p.lastActiveAt);
        this.#save({ ...this.current(), publishedStatus: shown });
      } catch (err) {
        // Left unpublished (friends could not even be listed): the sweep tries again.
        log.warn("presence.publish_failed", { error: errorText(err) });
        this.#d.setAlarm(this.#d.now() + this.#d.config.timeoutMs);
      }
    });
    return this.#publishing;
  }

  /** This user's next sweep (`nextSweepAt` with its config and slot). */
  #sweepAt(liveSockets: number, lastActiveAt: number, now: number): number {
    return nextSweepAt(liveSockets, lastActiveAt, now, this.#d.config, this.#d.sweepSlot);
  }

  #save(p: PresenceRow): void {
    this.#d.store.setPresence(p);
  }
}
