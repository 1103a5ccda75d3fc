/**
 * @module client/chat-socket
 * One reconnecting socket (the user socket, or one channel's), on partysocket's
 * `ReconnectingWebSocket`, with what the protocol adds (docs/protocol.md §4, §9.4):
 *
 * - **A fresh ticket for every attempt**, in `Sec-WebSocket-Protocol` (`edge-chat.v1`,
 *   `ticket.<ticket>`), never in the URL. partysocket asks its URL and protocols providers in
 *   parallel for each attempt, so both take the same ticket promise: one `POST /v1/connect`.
 * - **Jittered exponential backoff**, computed here (partysocket's own delay is set to zero,
 *   as it has no jitter): the first attempt goes at once, a reconnect after a drop waits about
 *   `baseMs`, and each failure in a row doubles it up to `maxMs`, times a random 0.5–1.5.
 * - **Heartbeats**: the text `ping` every `hello.heartbeat_ms`; three intervals without any
 *   frame (not even `pong`) mean the connection is dead, and it is replaced.
 * - **Close codes**: 4001 (revoked), 4003 (removed from the channel) and 4009 (replaced by a
 *   newer connection of this device) stop the socket; anything else reconnects: after 4029 (it
 *   kept sending after refusals for going too fast) not before a pause of 10-15 s, after 4013
 *   (it did not read fast enough) as after any drop.
 *
 * The socket counts as open at `hello`, not at the WebSocket `open` event: frames sent before
 * `hello` are dropped (partysocket's queue is off), as the client resends what matters itself.
 */
import ReconnectingWebSocket, { type CloseEvent } from "partysocket/ws";
import type { ConnectInfo, ServerFrame } from "./types.ts";

export type SocketStatus = "connecting" | "open" | "reconnecting" | "stopped";
export type StopReason = "revoked" | "removed" | "replaced";

/** Heartbeat interval until `hello` names one (docs/protocol.md §4.4). */
const DEFAULT_HEARTBEAT_MS = 5_000;
/** From the WebSocket constructor to its `open` event. */
const CONNECTION_TIMEOUT_MS = 10_000;

const STOP_CODES: Record<number, StopReason> = { 4001: "revoked", 4003: "removed", 4009: "replaced" };
/**
 * Closed for flooding (4029, docs/protocol.md §9.4): the next attempt waits at least this long,
 * the server's default pause (LIMIT_FLOOD_PAUSE_MS); a ticket refused as too fast makes it wait
 * the refusal's `retryAfterMs` in any case.
 */
const FLOODING = 4029;
const FLOOD_PAUSE_MS = 10_000;

export interface Backoff {
  /** Delay before the first reconnect after a drop (default 500 ms). */
  baseMs: number;
  /** Longest delay between attempts (default 30 s). */
  maxMs: number;
}

export interface ChatSocketOptions {
  /** Asks where to connect (`POST /v1/connect`); called once per attempt. */
  ticket(): Promise<ConnectInfo>;
  onFrame(frame: ServerFrame): void;
  onStatus(status: SocketStatus): void;
  /** The server closed with a code that must not be fought (4001, 4003, 4009). */
  onStop(reason: StopReason): void;
  /** Runs before the attempt that follows `failures` failed attempts in a row. */
  beforeRetry?(failures: number): Promise<void>;
  backoff: Backoff;
  /** A WebSocket constructor, where there is no global one. */
  WebSocket?: unknown;
}

export class ChatSocket {
  readonly #o: ChatSocketOptions;
  readonly #rws: ReconnectingWebSocket;
  #status: SocketStatus = "connecting";
  #stopped = false;
  #everOpen = false;
  /** Attempts since the last `hello`. */
  #attempts = 0;
  readonly #tickets = new Map<number, Promise<ConnectInfo>>();
  #urlCalls = 0;
  #protocolCalls = 0;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  #wake: (() => void) | null = null;
  /** No attempt before this time (after a close for flooding). */
  #pauseUntil = 0;

  constructor(options: ChatSocketOptions) {
    this.#o = options;
    this.#rws = new ReconnectingWebSocket(
      async () => (await this.#ticketFor("url")).url,
      async () => {
        const t = await this.#ticketFor("protocols");
        return [t.protocol, `ticket.${t.ticket}`];
      },
      {
        WebSocket: options.WebSocket,
        minReconnectionDelay: 0,
        maxReconnectionDelay: 0,
        reconnectionDelayGrowFactor: 1,
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        maxEnqueuedMessages: 0,
        shouldReconnectOnClose: (e: CloseEvent) => !(e.code in STOP_CODES),
      },
    );
    this.#rws.addEventListener("open", () => {
      this.#lastHeard = Date.now();
      this.#beat(DEFAULT_HEARTBEAT_MS);
    });
    this.#rws.addEventListener("message", (e: MessageEvent) => this.#message(e.data));
    this.#rws.addEventListener("close", (e: CloseEvent) => this.#closed(e.code));
  }

  get status(): SocketStatus {
    return this.#status;
  }

  /** Open: `hello` arrived and the connection is up. */
  get isOpen(): boolean {
    return this.#status === "open" && this.#rws.readyState === ReconnectingWebSocket.OPEN;
  }

  /** Sends a frame (adding `v: 1`) if the socket is open; false if it was not sent. */
  send(frame: { type: string } & Record<string, unknown>): boolean {
    if (!this.isOpen) return false;
    return this.#rws.send(JSON.stringify({ v: 1, ...frame }));
  }

  /** Cuts a backoff wait short (the network came back). */
  wake(): void {
    this.#wake?.();
  }

  /** Closes for good. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopBeat();
    this.#wake?.();
    this.#rws.close(1000, "client closed");
    this.#setStatus("stopped");
  }

  /** One ticket per attempt, whichever provider asks first. */
  #ticketFor(provider: "url" | "protocols"): Promise<ConnectInfo> {
    const n = provider === "url" ? ++this.#urlCalls : ++this.#protocolCalls;
    const shared = this.#tickets.get(n);
    if (shared) {
      this.#tickets.delete(n);
      return shared;
    }
    const attempt = this.#attempt();
    this.#tickets.set(n, attempt);
    return attempt;
  }

  async #attempt(): Promise<ConnectInfo> {
    const failures = this.#attempts++;
    if (failures > 0 || this.#everOpen) {
      const step = this.#o.backoff.baseMs * 2 ** Math.max(0, failures - (this.#everOpen ? 0 : 1));
      await this.#sleep(Math.min(this.#o.backoff.maxMs, step) * (0.5 + Math.random()));
    }
    const pause = this.#pauseUntil - Date.now();
    if (pause > 0) await this.#sleep(pause);
    if (failures > 0 && this.#o.beforeRetry && !this.#stopped) await this.#o.beforeRetry(failures);
    // No network: wait for the browser to report it back instead of burning attempts.
    while (!this.#stopped && isOffline()) await this.#sleep(this.#o.backoff.maxMs);
    if (this.#stopped) throw new Error("socket stopped");
    try {
      return await this.#o.ticket();
    } catch (err) {
      // A ticket refused as too fast (`rate_limited`): the next attempt waits for its time.
      const wait = (err as { retryAfterMs?: unknown }).retryAfterMs;
      if (typeof wait === "number") this.#pauseUntil = Math.max(this.#pauseUntil, Date.now() + wait);
      throw err;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = this.#wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        wake?.();
        done();
      };
    }).finally(() => {
      this.#wake = null;
    });
  }

  #message(data: unknown): void {
    this.#lastHeard = Date.now();
    if (typeof data !== "string" || data === "pong") return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return;
    }
    if (typeof frame !== "object" || frame === null || typeof frame.type !== "string") return;
    if (frame.type === "hello") {
      this.#attempts = 0;
      this.#everOpen = true;
      this.#beat(frame.heartbeat_ms > 0 ? frame.heartbeat_ms : DEFAULT_HEARTBEAT_MS);
      this.#setStatus("open");
    }
    this.#o.onFrame(frame);
  }

  #closed(code: number): void {
    this.#stopBeat();
    if (this.#stopped) return;
    if (code === FLOODING) this.#pauseUntil = Date.now() + FLOOD_PAUSE_MS * (1 + Math.random() / 2);
    const reason = STOP_CODES[code];
    if (reason) {
      this.#stopped = true;
      this.#setStatus("stopped");
      this.#o.onStop(reason);
      return;
    }
    this.#setStatus(this.#everOpen ? "reconnecting" : "connecting");
  }

  #beat(every: number): void {
    this.#stopBeat();
    this.#heartbeat = setInterval(() => {
      if (Date.now() - this.#lastHeard > 3 * every) {
        // Silent for three intervals: the connection is dead even if TCP has not noticed.
        this.#stopBeat();
        this.#rws.reconnect(1000, "heartbeat timeout");
        return;
      }
      if (this.#rws.readyState === ReconnectingWebSocket.OPEN) this.#rws.send("ping");
    }, every);
  }

  #stopBeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #setStatus(status: SocketStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#o.onStatus(status);
  }
}

/** The browser says there is no network (Node has no such signal). */
export function isOffline(): boolean {
  return typeof navigator !== "undefined" && navigator.onLine === false;
}
