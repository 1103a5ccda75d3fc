/**
 * Sockets for load generation, for the product (docs/protocol.md §4: POST /v1/connect, then
 * the upgrade with the ticket) and for the floor (GET /ws/<room>). Both heartbeat like a real
 * client (`ping` every hello.heartbeat_ms) and hand every other frame, as its raw text, to
 * `onData(text, arrivedAt)`. Parsing is left to the caller, which reads only what it needs:
 * the generator's own CPU matters (wsclient.mjs).
 */
import { performance } from "node:perf_hooks";
import { RawWebSocket } from "./wsclient.mjs";

/** The client: the hand-written one (wsclient.mjs) by default, or Node's built-in WebSocket. */
let Client = RawWebSocket;
export function useClient(name) {
  Client = name === "builtin" ? WebSocket : RawWebSocket;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` in flight; results in order. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `api(method, path, { token, body, headers })`: JSON in and out; throws on any status ≥ 300. */
export function makeApi(base) {
  return async function api(method, path, { token, body, headers: extra } = {}) {
    const headers = { ...extra };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  };
}

/** Counters shared by every socket of a run: heartbeats sent and answered, closes. */
export function socketStats() {
  return { pings: 0, pongs: 0, unexpectedCloses: 0, closeCodes: {}, sendsOnClosed: 0 };
}

const HELLO_TIMEOUT_MS = 30_000;

/** Opens `url`, waits for the hello frame, then heartbeats and forwards frames. */
export function openSocket(url, onData, stats, label) {
  return new Promise((resolve, reject) => {
    const ws = new Client(url);
    let beat;
    let closing = false;
    const timer = setTimeout(() => {
      reject(new Error(`${label}: no hello within ${HELLO_TIMEOUT_MS} ms`));
      ws.close();
    }, HELLO_TIMEOUT_MS);
    ws.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error(`${label}: socket error before hello`));
    });
    ws.addEventListener("close", (e) => {
      clearInterval(beat);
      if (!closing) {
        stats.unexpectedCloses++;
        stats.closeCodes[e.code] = (stats.closeCodes[e.code] ?? 0) + 1;
      }
    });
    ws.addEventListener("message", function first(e) {
      ws.removeEventListener("message", first);
      clearTimeout(timer);
      const hello = JSON.parse(e.data);
      if (hello.type !== "hello") return reject(new Error(`${label}: first frame ${e.data.slice(0, 200)}`));
      const every = hello.heartbeat_ms ?? 5000;
      // Phase-shifted, as devices that connected at different times would be.
      const start = setTimeout(() => {
        beat = setInterval(() => {
          if (ws.readyState !== 1) return;
          stats.pings++;
          ws.send("ping");
        }, every);
      }, Math.random() * every);
      ws.addEventListener("close", () => clearTimeout(start));
      ws.addEventListener("message", (m) => {
        const at = performance.now();
        if (m.data === "pong") stats.pongs++;
        else onData(m.data, at);
      });
      resolve({
        ws,
        hello,
        // A socket the server closed (a limit, say) is counted, not thrown at the generator: the
        // run goes on, and the report shows the closes and the messages never acknowledged.
        send: (text) => {
          if (ws.readyState === 1) ws.send(text);
          else stats.sendsOnClosed++;
        },
        close() {
          closing = true;
          if (ws.readyState <= 1) ws.close(1000);
        },
      });
    });
  });
}

/**
 * A product socket for `device` ({ token }): its user socket, or with `channelId` that
 * channel's socket. Each attempt asks for a fresh single-use ticket.
 */
export async function connectProduct(api, device, channelId, onData, stats) {
  const t = await api("POST", "/v1/connect", {
    token: device.token,
    body: channelId ? { channel_id: channelId } : {},
  });
  return openSocket(
    `${t.url}?ticket=${encodeURIComponent(t.ticket)}`,
    onData,
    stats,
    channelId ? "channel socket" : "user socket",
  );
}

/** A floor socket in `room`. */
export function connectFloor(base, room, onData, stats) {
  return openSocket(`${base.replace(/^http/, "ws")}/ws/${room}`, onData, stats, "floor socket");
}

/** Closes sockets and waits until the runtime has seen them go. */
export async function closeAll(sockets) {
  for (const s of sockets) s?.close();
  await sleep(200);
}
