// Shared set-up of the SDK end-to-end tests (test/e2e/sdk-*.test.mjs): SDK clients against the
// real Worker, users, friendships and a raw protocol socket for bulk sending. Not a test file
// itself (it does not end in .test.mjs).
import { randomUUID } from "node:crypto";
import { ChatClient, MemoryStore } from "../../client/src/index.ts";

export const PASSWORD = "correct horse battery";

/** Everything a test opened, closed in `after`/`afterEach`. */
export function tracker() {
  const clients = new Set();
  const sockets = new Set();
  return {
    client(baseUrl, options = {}) {
      const c = new ChatClient({
        baseUrl,
        store: new MemoryStore(),
        device: { name: "sdk e2e", platform: "node" },
        reconnect: { baseMs: 100, maxMs: 1_000 },
        // A muted proxy connection (a half-dead link) must not stall a test for long.
        requestTimeoutMs: 2_000,
        ...options,
      });
      clients.add(c);
      return c;
    },
    socket(ws) {
      sockets.add(ws);
      return ws;
    },
    closeAll() {
      for (const c of clients) c.disconnect();
      for (const ws of sockets) ws.close();
      clients.clear();
      sockets.clear();
    },
  };
}

export function handle(prefix = "u") {
  return `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** A signed-up client (not connected). */
export async function signup(t, baseUrl, prefix, options) {
  const c = t.client(baseUrl, options);
  const h = handle(prefix);
  await c.signup({ handle: h, display_name: prefix, password: PASSWORD });
  return c;
}

export async function befriend(a, b) {
  await a.requestFriendById(b.session.user_id);
  await b.acceptFriend(a.session.user_id);
}

/**
 * A WebSocket class (for the SDK's `WebSocket` option) that records every frame the SDK sends,
 * as `{ path, frame }`, with `frame` parsed when it is JSON.
 */
export function recordingWebSocket(record) {
  return class RecordingWebSocket extends WebSocket {
    send(data) {
      let frame = data;
      try {
        frame = JSON.parse(data);
      } catch {}
      record.push({ path: new URL(this.url).pathname, frame });
      super.send(data);
    }
  };
}

/** Polls `check` until it returns a truthy value. */
export async function waitFor(what, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The stored (sent) messages a client holds in a channel. */
export function sent(client, channelId) {
  return client.messages(channelId).filter((m) => m.status === "sent");
}

/** Every message of a channel over REST, oldest first. */
export async function history(client, channelId) {
  const all = [];
  let after = 0;
  for (;;) {
    const page = await client.request("GET", `/channels/${channelId}/messages?after=${after}&limit=200`);
    all.push(...page.messages);
    if (!page.has_more || page.messages.length === 0) return all;
    after = page.messages.at(-1).seq;
  }
}

/**
 * A bare channel socket for `client`'s device (docs/protocol.md §4), to send many messages
 * fast: `sendMany(n)` pipelines n `send` frames and resolves when all n are acked.
 */
export async function rawChannelSocket(t, client, channelId) {
  const info = await client.request("POST", "/connect", { channel_id: channelId });
  const ws = t.socket(new WebSocket(info.url, [info.protocol, `ticket.${info.ticket}`]));
  await new Promise((resolve, reject) => {
    ws.addEventListener("message", function hello(e) {
      if (JSON.parse(e.data).type === "hello") {
        ws.removeEventListener("message", hello);
        resolve();
      }
    });
    ws.addEventListener("error", () => reject(new Error("raw socket failed")), { once: true });
  });
  return {
    ws,
    sendMany(n, text = (i) => `bulk ${i}`) {
      return new Promise((resolve, reject) => {
        let acked = 0;
        const onMessage = (e) => {
          const f = JSON.parse(e.data);
          if (f.type === "error") reject(new Error(`${f.code}: ${f.message}`));
          if (f.type === "ack" && ++acked === n) {
            ws.removeEventListener("message", onMessage);
            resolve();
          }
        };
        ws.addEventListener("message", onMessage);
        for (let i = 0; i < n; i++) {
          ws.send(JSON.stringify({ v: 1, type: "send", client_msg_id: randomUUID(), text: text(i) }));
        }
      });
    },
  };
}
