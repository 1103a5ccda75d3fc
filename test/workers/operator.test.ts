// The operator endpoints (/v1/ops, docs/operations.md "Dead letters"): only the operator secret
// opens them; they show the dead-letter count and the newest failures without their text; a retry
// puts a still-wanted job back through the real queue to the device and removes it, a job the user
// has read since is removed as stale, an unreadable one stays; a drop deletes.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { toBase64Url } from "../../domain/encoding.ts";
import type { PushJob } from "../../protocol/push.ts";
import { api, groupOfTwo, signup, type TestUser } from "../fixtures/api.ts";
import { poll } from "../fixtures/poll.ts";
import { expectError } from "./expect-error.ts";

const PUSH_HOST = "push.example.test";
// vitest.config.ts binds a fixed test secret.
const OPS = { authorization: `Bearer ${env.OPS_SECRET}` };

let pushes: string[] = [];
let answer = 201;
let fetchSpy: MockInstance<typeof fetch>;

beforeEach(() => {
  pushes = [];
  answer = 201;
  const realFetch = globalThis.fetch;
  fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input, init);
    if (new URL(req.url).host !== PUSH_HOST) return realFetch(input, init);
    pushes.push(req.url);
    return new Response(null, { status: answer });
  });
});

afterEach(() => {
  fetchSpy.mockRestore();
});

async function subscribe(user: TestUser): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const endpoint = `https://${PUSH_HOST}/send/${crypto.randomUUID()}`;
  const res = await api("PUT", "/v1/push/subscription", {
    token: user.token,
    body: {
      endpoint,
      keys: { p256dh: toBase64Url(raw), auth: toBase64Url(crypto.getRandomValues(new Uint8Array(16))) },
    },
  });
  expect(res.status).toBe(204);
  return endpoint;
}

/** A dead letter as the dead-letter consumer records it. */
async function deadLetter(job: PushJob | string, attempts = 5): Promise<string> {
  const id = `dl-${crypto.randomUUID()}`;
  const body = typeof job === "string" ? job : JSON.stringify(job);
  const parsed = typeof job === "string" ? null : job;
  await env.DB.prepare(
    "INSERT INTO push_failures (id, user_id, channel_id, seq, attempts, failed_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
  )
    .bind(id, parsed?.user_id ?? "", parsed?.channel_id ?? "", parsed?.seq ?? 0, attempts, Date.now(), body)
    .run();
  return id;
}

function jobFor(user: TestUser, channelId: string, seq: number, preview: string): PushJob {
  return {
    v: 1,
    user_id: user.id,
    channel_id: channelId,
    seq,
    message_id: "01J0000000000000000000000",
    sender_id: crypto.randomUUID(),
    preview,
    badge: 1,
    queued_at: Date.now() - 60_000,
  };
}

async function rowExists(id: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 FROM push_failures WHERE id = ?").bind(id).first()) !== null;
}

async function post(path: string, body: unknown) {
  return api("POST", `/v1/ops/dead-letters${path}`, { headers: OPS, body });
}

describe("operator secret", () => {
  it("refuses a request without the secret, with a user's token, or with a wrong secret", async () => {
    const user = await signup("notops");
    expectError(await api("GET", "/v1/ops/dead-letters"), "unauthenticated");
    expectError(await api("GET", "/v1/ops/dead-letters", { token: user.token }), "unauthenticated");
    expectError(
      await api("GET", "/v1/ops/dead-letters", { headers: { authorization: `Bearer ${env.OPS_SECRET}x` } }),
      "unauthenticated",
    );
    expectError(await api("POST", "/v1/ops/dead-letters/drop", { body: { all: true } }), "unauthenticated");
    expect((await api("GET", "/v1/ops/dead-letters", { headers: OPS })).status).toBe(200);
  });
});

describe("dead letters", () => {
  it("shows the count, the count of 24 h and the newest failures, never the notification's text", async () => {
    const user = await signup("viewed");
    const before = (await api("GET", "/v1/ops/dead-letters", { headers: OPS })).body.count as number;
    const id = await deadLetter(jobFor(user, crypto.randomUUID(), 7, "a secret preview text"), 5);
    const res = await api("GET", "/v1/ops/dead-letters?limit=1", { headers: OPS });
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(before + 1);
    expect(res.body.count_24h).toBeGreaterThanOrEqual(1);
    expect(res.body.latest).toEqual([
      {
        id,
        user_id: user.id,
        channel_id: expect.any(String),
        seq: 7,
        attempts: 5,
        failed_at: expect.any(Number),
      },
    ]);
    expect(JSON.stringify(res.body)).not.toContain("a secret preview text");
    expectError(await api("GET", "/v1/ops/dead-letters?limit=0", { headers: OPS }), "validation_failed");
    expectError(await api("GET", "/v1/ops/dead-letters?limit=101", { headers: OPS }), "validation_failed");
  });

  it("a retry sends a still-wanted job through the queue to the device, and removes it", async () => {
    // B, offline and subscribed, has an unread message whose push failed every attempt.
    const { a, b, group } = await groupOfTwo();
    const endpoint = await subscribe(b);
    answer = 500;
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "dead", text: "nobody saw this" },
    });
    // vitest.config.ts: 3 attempts, backing off 2 s then 4 s, then the dead-letter queue.
    const row = await poll(
      "the dead letter",
      () =>
        env.DB.prepare("SELECT id FROM push_failures WHERE channel_id = ?")
          .bind(group.channel_id)
          .first<{ id: string }>(),
      15_000,
    );
    expect(pushes.filter((p) => p === endpoint)).toHaveLength(3);

    answer = 201; // the push service is back
    const res = await post("/retry", { ids: [row.id, "no-such-id"] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ retried: 1, stale: 0, unreadable: [], not_found: ["no-such-id"] });
    expect(await rowExists(row.id)).toBe(false);
    await poll("the retried push", async () => pushes.filter((p) => p === endpoint).length === 4);
    await poll("its push_sent row", () =>
      env.DB.prepare("SELECT 1 AS sent FROM push_sent WHERE channel_id = ? AND seq = 1")
        .bind(group.channel_id)
        .first(),
    );
  }, 30_000);

  it("a retry removes a job whose message was read since as stale, and keeps an unreadable one", async () => {
    const { a, b, group } = await groupOfTwo();
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "read-later", text: "read on another device" },
    });
    const read = await api("POST", `/v1/channels/${group.channel_id}/read`, {
      token: b.token,
      body: { seq: 1 },
    });
    expect(read.status).toBeLessThan(300);
    // B's user object learns of the read with the channel's next update (its quiet fold).
    await poll("B's copy read to 1", async () => {
      const list = await api("GET", "/v1/channels", { token: b.token });
      return list.body.channels.find(
        (c: { channel_id: string; read_seq: number }) =>
          c.channel_id === group.channel_id && c.read_seq === 1,
      );
    });
    const stale = await deadLetter(jobFor(b, group.channel_id, 1, "x"));
    const unreadable = await deadLetter('{"not":"a job"}');
    const res = await post("/retry", { ids: [stale, unreadable] });
    expect(res.body).toMatchObject({ retried: 0, stale: 1, unreadable: [unreadable] });
    expect(await rowExists(stale)).toBe(false);
    expect(await rowExists(unreadable)).toBe(true);
    expect(pushes).toEqual([]);
  });

  it("drops by id and all at once, and answers what remains", async () => {
    const user = await signup("dropped");
    const one = await deadLetter(jobFor(user, crypto.randomUUID(), 1, "x"));
    const two = await deadLetter(jobFor(user, crypto.randomUUID(), 2, "x"));
    const res = await post("/drop", { ids: [one] });
    expect(res.body.dropped).toBe(1);
    expect(await rowExists(one)).toBe(false);
    expect(await rowExists(two)).toBe(true);
    let remaining = res.body.remaining as number;
    while (remaining > 0) {
      const all = await post("/drop", { all: true });
      expect(all.body.dropped).toBeGreaterThan(0);
      remaining = all.body.remaining;
    }
    expect(await rowExists(two)).toBe(false);
    expect((await api("GET", "/v1/ops/dead-letters", { headers: OPS })).body).toMatchObject({
      count: 0,
      latest: [],
    });
  });

  it("refuses a body that names no dead letter, or more than 100", async () => {
    expectError(await post("/retry", {}), "validation_failed");
    expectError(await post("/retry", { ids: [] }), "validation_failed");
    expectError(
      await post("/drop", { ids: Array.from({ length: 101 }, (_, i) => `id${i}`) }),
      "validation_failed",
    );
    expectError(await post("/drop", { all: false }), "validation_failed");
  });
});
