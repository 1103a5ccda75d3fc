/**
 * @module client/friend-book
 * The friends list as the app shows it: the last `GET /v1/friends` snapshot with `friend`
 * frames applied on top (docs/protocol.md §7.6, §8.3). As with presence, a snapshot can answer
 * after a frame that is newer than it, and must not undo it: a person a frame changed after the
 * snapshot was requested keeps the frame's entry (SnapshotClock).
 */
import { SnapshotClock } from "./snapshot-clock.ts";
import type { FriendsList, ServerFrameOf } from "./types.ts";

export class FriendBook {
  #list: FriendsList = { friends: [], blocked: [] };
  readonly #clock = new SnapshotClock();

  /** The list now (a copy). */
  get list(): FriendsList {
    return { friends: [...this.#list.friends], blocked: [...this.#list.blocked] };
  }

  /** True when I blocked this user (their messages in shared groups are collapsed, §6.9). */
  isBlocked(userId: string): boolean {
    return this.#list.blocked.some((b) => b.user.id === userId);
  }

  /** A snapshot request starts now; pass the result to {@link snapshot}. */
  start(): number {
    return this.#clock.start();
  }

  /** Takes the snapshot requested at `started`, except for people a frame changed since. */
  snapshot(list: FriendsList, started: number): FriendsList {
    const framed = (id: string) => this.#clock.stale(id, started);
    this.#list = {
      friends: [
        ...list.friends.filter((f) => !framed(f.user.id)),
        ...this.#list.friends.filter((f) => framed(f.user.id)),
      ],
      blocked: [
        ...list.blocked.filter((b) => !framed(b.user.id)),
        ...this.#list.blocked.filter((b) => framed(b.user.id)),
      ],
    };
    return this.list;
  }

  /** A `friend` frame: the relation with `f.user` is now `f.state`. */
  apply(f: ServerFrameOf<"friend">): void {
    const id = f.user.id;
    this.#clock.touch(id);
    const friends = this.#list.friends.filter((x) => x.user.id !== id);
    const blocked = this.#list.blocked.filter((x) => x.user.id !== id);
    if (f.state === "blocked") blocked.push({ user: f.user, since: f.since });
    else if (f.state !== "none") friends.push({ user: f.user, state: f.state, since: f.since });
    this.#list = { friends, blocked };
  }

  clear(): void {
    this.#list = { friends: [], blocked: [] };
    this.#clock.clear();
  }
}
