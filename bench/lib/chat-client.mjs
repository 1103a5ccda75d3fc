/**
 * A bare protocol client for load generation: HTTP calls, users, friendships and sockets that
 * timestamp every frame on arrival. It speaks docs/protocol.md directly (no reconnects, no
 * outbox) so the measurement sees the server, not a client library.
 */
import { performance } from "node:perf_hooks";
import { makeApi as makeHttpApi } from "./sockets.mjs";

export { sleep } from "./sockets.mjs";
export { percentile, summarize } from "./tracker.mjs";

export function makeApi(base) {
  const api = makeHttpApi(base);

  let n = 0;
  async function signup(prefix = "u") {
    const handle = `${prefix}_${process.pid}_${++n}_${Math.random().toString(36).slice(2, 6)}`.slice(0, 32);
    const r = await api("POST", "/v1/auth/signup", {
      body: { handle, display_name: handle, password: "bench password 1" },
    });
    return { id: r.user.id, handle, token: r.access_token, deviceId: r.device_id };
  }

  /** Another device of the same user. */
  async function login(user) {
    const r = await api("POST", "/v1/auth/login", {
      body: { handle: user.handle, password: "bench password 1" },
      headers: { "cf-connecting-ip": `bench-${user.handle}` },
    });
    return { ...user, token: r.access_token, deviceId: r.device_id };
  }

  async function befriend(a, b) {
    await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } });
    await api("POST", `/v1/friends/${a.id}/accept`, { token: b.token });
  }

  /**
   * Opens a socket and, like a real client, heartbeats at the interval its `hello` gives.
   * Every parsed frame goes to `onFrame` with its arrival time; `onOpening` runs just before
   * the upgrade is sent.
   */
  async function connect(user, channelId, onFrame, onOpening = () => {}) {
    const t = await api("POST", "/v1/connect", {
      token: user.token,
      body: channelId ? { channel_id: channelId } : {},
    });
    onOpening();
    const ws = new WebSocket(`${t.url}?ticket=${encodeURIComponent(t.ticket)}`);
    await new Promise((resolve, reject) => {
      ws.addEventListener("message", function first(e) {
        if (typeof e.data === "string" && e.data.includes('"hello"')) {
          ws.removeEventListener("message", first);
          const every = JSON.parse(e.data).heartbeat_ms;
          const beat = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), every);
          ws.addEventListener("close", () => clearInterval(beat));
          resolve();
        }
      });
      ws.addEventListener("error", () => reject(new Error("socket error")), { once: true });
    });
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string" || e.data === "pong") return;
      onFrame(JSON.parse(e.data), performance.now());
    });
    return ws;
  }

  return { api, signup, login, befriend, connect };
}
