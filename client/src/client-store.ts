/**
 * @module client/client-store
 * Where the client keeps what must survive a reload: the session (with the rotating refresh
 * token) and the outbox. A {@link ClientStore} is three async calls, so an app can plug in
 * anything (localStorage, a file, a native key store). Browsers get IndexedDB through
 * idb-keyval; Node gets memory.
 */
import { createStore, del, get, set, type UseStore } from "idb-keyval";

export interface ClientStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
}

/** Keeps values in memory (copied, as IndexedDB would), for Node, tests and private modes. */
export class MemoryStore implements ClientStore {
  readonly #values = new Map<string, unknown>();

  async get<T>(key: string): Promise<T | undefined> {
    const value = this.#values.get(key);
    return value === undefined ? undefined : (structuredClone(value) as T);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.#values.set(key, structuredClone(value));
  }

  async del(key: string): Promise<void> {
    this.#values.delete(key);
  }
}

/**
 * IndexedDB through idb-keyval, in its own database so it never meets the app's keys.
 * @example
 * const client = new ChatClient({ baseUrl, store: indexedDbStore("my-app-chat") });
 */
export function indexedDbStore(dbName = "edge-chat", storeName = "kv"): ClientStore {
  let db: UseStore | undefined;
  const use = () => {
    db ??= createStore(dbName, storeName);
    return db;
  };
  return {
    get: <T>(key: string) => get<T>(key, use()),
    set: (key, value) => set(key, value, use()),
    del: (key) => del(key, use()),
  };
}

/** IndexedDB where it exists (browsers), memory elsewhere (Node). */
export function defaultStore(): ClientStore {
  return typeof indexedDB === "undefined" ? new MemoryStore() : indexedDbStore();
}
