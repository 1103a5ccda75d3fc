/**
 * @module client/snapshot-clock
 * Presence and the conversation list are a REST snapshot with frames applied on top
 * (docs/protocol.md §7.5, §8.4). A snapshot's answer can arrive after a frame that is newer
 * than it: the friends list read just before a friend came online lands after the `presence`
 * frame saying so. Frames report every change, so a frame received after a snapshot was
 * requested is at least as new as the snapshot for that key, and the snapshot must not
 * overwrite it. This clock tells which keys those are.
 */
export class SnapshotClock {
  #tick = 0;
  readonly #changed = new Map<string, number>();

  /** A frame changed `key`. */
  touch(key: string): void {
    this.#changed.set(key, ++this.#tick);
  }

  /** A snapshot request starts now; pass the result to {@link stale}. */
  start(): number {
    return ++this.#tick;
  }

  /** A frame changed `key` after the snapshot `started`: keep the frame's value. */
  stale(key: string, started: number): boolean {
    return (this.#changed.get(key) ?? 0) > started;
  }

  clear(): void {
    this.#changed.clear();
  }
}
