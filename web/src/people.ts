/**
 * @module web/people
 * Names for ids. Messages, receipts, presence and push payloads carry user ids only; this
 * directory resolves them from what the app already loaded (friends, group members, me) and
 * fetches the rest once each (`GET /v1/users/{id}`), telling the app when a name arrives.
 * It also mirrors the names into the Cache API, where the service worker reads them to title
 * push notifications (web/static/sw.js).
 */
import type { PublicUser } from "../../client/src/index.ts";

export const META_CACHE = "edge-chat-meta";
export const META_URL = "/__edge-chat/names.json";

type Fetcher = (userId: string) => Promise<PublicUser>;

export class People {
  readonly #users = new Map<string, PublicUser>();
  readonly #channels = new Map<string, string>();
  readonly #loading = new Set<string>();
  readonly #fetch: Fetcher;
  readonly #changed: () => void;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(fetch: Fetcher, changed: () => void) {
    this.#fetch = fetch;
    this.#changed = changed;
  }

  add(user: PublicUser): void {
    const had = this.#users.get(user.id);
    this.#users.set(user.id, user);
    if (had?.display_name !== user.display_name) this.#save();
  }

  get(userId: string): PublicUser | undefined {
    return this.#users.get(userId);
  }

  /** The display name, or a placeholder while it loads. */
  name(userId: string): string {
    const u = this.#users.get(userId);
    if (u) return u.display_name;
    this.#load(userId);
    return "…";
  }

  /** Remembers a conversation's title for notifications. */
  titleChannel(channelId: string, title: string): void {
    if (this.#channels.get(channelId) === title) return;
    this.#channels.set(channelId, title);
    this.#save();
  }

  /** Forgets everything (sign-out), including the copy the service worker reads. */
  async clear(): Promise<void> {
    this.#users.clear();
    this.#channels.clear();
    clearTimeout(this.#saveTimer);
    await caches
      ?.open(META_CACHE)
      .then((c) => c.delete(META_URL))
      .catch(() => {});
  }

  #load(userId: string): void {
    if (this.#loading.has(userId)) return;
    this.#loading.add(userId);
    this.#fetch(userId)
      .then((u) => {
        this.add(u);
        this.#changed();
      })
      .catch(() => {
        // Unknown or unreachable: show a neutral name, and try again on a later render.
        setTimeout(() => this.#loading.delete(userId), 10_000);
      });
  }

  #save(): void {
    if (typeof caches === "undefined") return;
    clearTimeout(this.#saveTimer);
    this.#saveTimer = setTimeout(() => {
      const users = Object.fromEntries([...this.#users].map(([id, u]) => [id, u.display_name]));
      const channels = Object.fromEntries(this.#channels);
      const body = JSON.stringify({ users, channels });
      caches
        .open(META_CACHE)
        .then((c) => c.put(META_URL, new Response(body, { headers: { "content-type": "application/json" } })))
        .catch(() => {});
    }, 300);
  }
}
