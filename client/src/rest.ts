/**
 * @module client/rest
 * REST under /v1 with the access token, and the token refresh (docs/protocol.md §3.2).
 *
 * Refresh tokens rotate: each refresh returns a new one and kills the old one at once. So a
 * refresh runs once per device at a time (single flight: concurrent `401 token_expired`
 * answers wait for the same refresh), and the rotated pair is stored before any request uses
 * it. Before refreshing, the stored session is read again: another tab of the same device may
 * have rotated the token already, and refreshing with the stale one would sign the device out.
 */
import type { ErrorEnvelope } from "../../protocol/errors.ts";
import { ChatApiError } from "./chat-api-error.ts";
import type { SessionTokens, StoredSession } from "./types.ts";

/** Refresh this long before the access token's stated expiry, to absorb clock skew and latency. */
const EXPIRY_MARGIN_MS = 30_000;

export interface RestDeps {
  baseUrl: string;
  fetch: typeof fetch;
  /**
   * Abort a request with no answer after this long. A half-dead connection (a keep-alive
   * socket on a network that went away) otherwise leaves a request, and every reconnect
   * waiting for it, hanging for good.
   */
  timeoutMs: number;
  /** The session in memory. */
  session(): StoredSession | null;
  /** The session as persisted (another tab may have rotated it). */
  storedSession(): Promise<StoredSession | null>;
  /** Adopts new tokens: must persist them before resolving. */
  adopt(tokens: StoredSession): Promise<void>;
  /** The server refused this device (`unauthenticated`): it is signed out. */
  signedOut(reason: "revoked" | "expired"): void;
}

export interface RequestOptions {
  /** Send the access token (default true). */
  auth?: boolean;
}

export class Rest {
  readonly #d: RestDeps;
  #refreshing: Promise<void> | null = null;

  constructor(deps: RestDeps) {
    this.#d = deps;
  }

  /**
   * One REST call. `path` is under /v1 (`"/users/me"` or `"/v1/users/me"`). Resolves with the
   * parsed JSON body (`undefined` for 204); throws {@link ChatApiError}.
   */
  async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    if (!auth) return this.#send<T>(method, path, body, null);
    let session = this.#d.session();
    if (!session) throw new ChatApiError("unauthenticated", 401, "not signed in");
    if (Date.now() >= session.access_expires_at - EXPIRY_MARGIN_MS) {
      await this.refresh(session.access_token);
      session = this.#requireSession();
    }
    try {
      return await this.#send<T>(method, path, body, session.access_token);
    } catch (err) {
      if (!(err instanceof ChatApiError) || err.status !== 401) throw err;
      if (err.code === "unauthenticated") {
        // Signed out or revoked; unless another tab has just rotated the session under us.
        if (this.#d.session()?.access_token === session.access_token) this.#d.signedOut("revoked");
        throw err;
      }
      if (err.code !== "token_expired") throw err;
      await this.refresh(session.access_token);
      return this.#send<T>(method, path, body, this.#requireSession().access_token);
    }
  }

  /**
   * A current access token (refreshed first when it is about to expire), for requests this
   * class does not make itself: uploads with progress, streamed downloads (client/transfers.ts).
   */
  async token(): Promise<string> {
    const session = this.#requireSession();
    if (Date.now() < session.access_expires_at - EXPIRY_MARGIN_MS) return session.access_token;
    await this.refresh(session.access_token);
    return this.#requireSession().access_token;
  }

  /** The URL of a path under /v1 (as `request` resolves it). */
  url(path: string): string {
    return this.#url(path);
  }

  /**
   * Renews the access token, once for every caller that saw `staleAccessToken` expire. A
   * caller arriving after the refresh finished finds a newer token and returns at once.
   */
  refresh(staleAccessToken: string): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    const current = this.#d.session();
    if (!current) return Promise.reject(new ChatApiError("unauthenticated", 401, "not signed in"));
    if (current.access_token !== staleAccessToken) return Promise.resolve();
    const run = this.#refresh(current).finally(() => {
      this.#refreshing = null;
    });
    this.#refreshing = run;
    return run;
  }

  async #refresh(current: StoredSession): Promise<void> {
    const stored = await this.#d.storedSession();
    if (
      stored &&
      stored.device_id === current.device_id &&
      stored.refresh_token !== current.refresh_token &&
      Date.now() < stored.access_expires_at - EXPIRY_MARGIN_MS
    ) {
      await this.#d.adopt(stored); // another tab rotated it: use theirs
      return;
    }
    const refreshToken =
      stored?.device_id === current.device_id ? stored.refresh_token : current.refresh_token;
    let tokens: SessionTokens;
    try {
      tokens = await this.#send<SessionTokens>(
        "POST",
        "/v1/auth/refresh",
        { refresh_token: refreshToken },
        null,
      );
    } catch (err) {
      if (err instanceof ChatApiError && err.code === "unauthenticated") this.#d.signedOut("expired");
      throw err;
    }
    // Store the rotated refresh token before anything else: the old one is already dead.
    await this.#d.adopt({
      ...current,
      user_id: tokens.user_id,
      device_id: tokens.device_id,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      access_expires_at: Date.now() + tokens.expires_in * 1000,
    });
  }

  #requireSession(): StoredSession {
    const s = this.#d.session();
    if (!s) throw new ChatApiError("unauthenticated", 401, "not signed in");
    return s;
  }

  async #send<T>(method: string, path: string, body: unknown, token: string | null): Promise<T> {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    let text: string;
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.#d.timeoutMs);
    try {
      res = await this.#d.fetch(this.#url(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: abort.signal,
      });
      text = await res.text();
    } catch (err) {
      const message = timedOut ? `no answer within ${this.#d.timeoutMs} ms` : `network error: ${String(err)}`;
      throw new ChatApiError("network", 0, message, undefined, err);
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.ok) return json as T;
    const error = (json as Partial<ErrorEnvelope> | undefined)?.error;
    if (error && typeof error.code === "string") {
      throw new ChatApiError(
        error.code,
        res.status,
        error.message,
        error.details,
        undefined,
        retryAfter(res, error),
      );
    }
    throw new ChatApiError(res.status >= 500 ? "internal" : "bad_request", res.status, `HTTP ${res.status}`);
  }

  #url(path: string): string {
    const base = this.#d.baseUrl.replace(/\/+$/, "");
    const rel = path.startsWith("/") ? path : `/${path}`;
    return rel.startsWith("/v1/") || rel === "/v1" ? `${base}${rel}` : `${base}/v1${rel}`;
  }
}

/** A refusal's wait: the body's exact `retry_after_ms`, else `Retry-After` in seconds. */
function retryAfter(res: Response, error: ErrorEnvelope["error"]): number | undefined {
  if (typeof error.retry_after_ms === "number") return error.retry_after_ms;
  const header = Number(res.headers.get("retry-after"));
  return res.status === 429 && header > 0 ? header * 1_000 : undefined;
}
