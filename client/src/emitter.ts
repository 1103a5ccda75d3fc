/**
 * @module client/emitter
 * A small typed event emitter. A listener that throws does not stop the others or the
 * client: its error is rethrown on a fresh task, where the host reports it.
 */
type Listener<T> = (payload: T) => void;

export class Emitter<E> {
  readonly #listeners = new Map<keyof E, Set<Listener<never>>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(fn as Listener<never>);
    return () => {
      set.delete(fn as Listener<never>);
    };
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<E[K]>)(payload);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }
}
