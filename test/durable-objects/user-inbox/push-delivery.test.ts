/**
 * When push notifications go out, end to end in workerd: user object → Queue → consumer →
 * the push service, which is the only thing mocked (outbound fetch to its endpoints).
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, channelAtHead, connect, groupOfTwo, type TestUser } from "../../fixtures/api.ts";
import { poll } from "../../fixtures/poll.ts";

const PUSH_HOST = "https://push.example.test/";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

let pushes: { endpoint: string; topic: string | null; status: number }[] = [];
/** The push service's answer to each request; a test may switch it. */
let status = 201;

beforeEach(() => {
  pushes = [];
  status = 201;
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(PUSH_HOST)) return realFetch(input, init);
    const headers = new Headers(input instanceof Request ? input.headers : init?.headers);
    pushes.push({ endpoint: url, topic: headers.get("topic"), status });
    return new Response(null, { status });
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Registers a Web Push subscription (a real P-256 key) for this device; returns its endpoint. */
async function subscribe(user: TestUser): Promise<string> {
  const key = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", key.publicKey)) as ArrayBuffer);
  const endpoint = `${PUSH_HOST}${crypto.randomUUID()}`;
  const res = await api("PUT", "/v1/push/subscription", {
    token: user.token,
    body: {
      endpoint,
      keys: { p256dh: b64url(raw), auth: b64url(crypto.getRandomValues(new Uint8Array(16))) },
    },
  });
  expect(res.status).toBeLessThan(300);
  return endpoint;
}

const to = (endpoint: string) => pushes.filter((p) => p.endpoint === endpoint);

async function sentSeqs(channelId: string): Promise<number[]> {
  const rows = await env.DB.prepare("SELECT seq FROM push_sent WHERE channel_id = ? ORDER BY seq")
    .bind(channelId)
    .all<{ seq: number }>();
  return rows.results.map((r) => r.seq);
}

async function post(user: TestUser, channelId: string, n: number, prefix: string): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await api("POST", `/v1/channels/${channelId}/messages`, {
      token: user.token,
      body: { client_msg_id: `${prefix}${i}`, text: `${prefix} ${i}` },
    });
  }
}

describe("push notifications", () => {
  it("sends none while a device of the recipient is connected, and one once none is", async () => {
    const { a, b, group } = await groupOfTwo();
    const endpoint = await subscribe(b);
    const online = await connect(b);
    await post(a, group.channel_id, 3, "on");
    await sleep(1_500);
    expect(to(endpoint)).toEqual([]);
    online.close();
    await sleep(200);
    await post(a, group.channel_id, 1, "off");
    for (let i = 0; i < 60 && to(endpoint).length === 0; i++) await sleep(100);
    expect(to(endpoint)).toHaveLength(1);
  });

  it("collapses a burst: few requests, one Topic, and the newest message is notified", async () => {
    const { a, b, group } = await groupOfTwo();
    const endpoint = await subscribe(b);
    const sender = await connect(a, group.channel_id);
    for (let i = 1; i <= 20; i++)
      sender.send({ v: 1, type: "send", client_msg_id: `burst${i}`, text: `burst ${i}` });
    await sender.until((s) => s.of("ack").length === 20);
    // Wait for the first request, then until no more arrive for a while.
    for (let i = 0; i < 100 && to(endpoint).length === 0; i++) await sleep(100);
    for (let quiet = 0, seen = to(endpoint).length; quiet < 5; ) {
      await sleep(300);
      quiet = to(endpoint).length === seen ? quiet + 1 : 0;
      seen = to(endpoint).length;
    }
    const sent = to(endpoint);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent.length).toBeLessThanOrEqual(4);
    expect(new Set(sent.map((p) => p.topic)).size).toBe(1);
    expect(sent[0]?.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    const rows = await env.DB.prepare("SELECT MAX(seq) AS seq FROM push_sent WHERE channel_id = ?")
      .bind(group.channel_id)
      .first<{ seq: number }>();
    expect(rows?.seq).toBe(20);
  });

  it("sends none for a muted channel", async () => {
    const { a, b, group } = await groupOfTwo();
    const endpoint = await subscribe(b);
    // The group reaches B's list with the channel's first update to B's user object.
    await poll(
      "the group in b's list",
      async () => {
        const list = await api("GET", "/v1/channels", { token: b.token });
        return list.body.channels.length > 0;
      },
      5_000,
      50,
    );
    const mute = await api("PUT", `/v1/channels/${group.channel_id}/mute`, {
      token: b.token,
      body: { muted: true },
    });
    expect(mute.body).toEqual({ channel_id: group.channel_id, muted: true });
    await post(a, group.channel_id, 2, "muted");
    await sleep(1_500);
    expect(to(endpoint)).toEqual([]);
  });

  it("the waiting notification survives the user object's eviction and goes exactly once (#16)", async () => {
    const { a, b, group } = await groupOfTwo();
    const endpoint = await subscribe(b);
    // m1's first attempt fails; m2 then waits for m1's job to settle.
    status = 500;
    await post(a, group.channel_id, 1, "first");
    await poll("m1's first attempt", async () => to(endpoint).length >= 1, 10_000, 50);
    await post(a, group.channel_id, 1, "second");
    await channelAtHead(b.token, group.channel_id, 2);
    // The idle user object is evicted (about 10 s idle locally; at once here) before m1's retry
    // succeeds (vitest.config.ts: 3 attempts, 2 s then 4 s apart).
    await evictDurableObject(env.USER_INBOX.getByName(b.id));
    status = 201;
    await poll("m2 pushed", async () => (await sentSeqs(group.channel_id)).includes(2), 15_000);
    await sleep(1_500);
    expect(await sentSeqs(group.channel_id)).toEqual([1, 2]);
    expect(to(endpoint).filter((p) => p.status === 201)).toHaveLength(2);
  });
});
