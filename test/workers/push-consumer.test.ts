// Push notifications: the subscription API, the `push` queue's consumer (ack, retry with
// backoff or Retry-After, 404/410 drops the subscription, idempotent per device, channel and
// seq), the dead-letter consumer, and the real queue pipeline through to the dead-letter queue.
// Only the push service is faked: `fetch` to https://push.example.test answers as each test says.
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { toBase64Url } from "../../domain/encoding.ts";
import { type PushJob, type PushPayload, pushTopic } from "../../protocol/push.ts";
import {
  consumeDeadLetters,
  consumePushBatch,
  PUSH_DEAD_LETTER_QUEUE,
  PUSH_QUEUE,
  PUSH_TTL_S,
  type PushConsumerDeps,
  pushConsumerDeps,
} from "../../workers/consumers/push/consumer.ts";
import worker from "../../workers/index.ts";
import { api, channelAtHead, connect, groupOfTwo, login, signup, type TestUser } from "../fixtures/api.ts";
import { poll } from "../fixtures/poll.ts";
import { expectError } from "./expect-error.ts";

const PUSH_HOST = "push.example.test";

// ---- the fake push service -------------------------------------------------------------------

interface CapturedPush {
  url: string;
  headers: Headers;
  body: Uint8Array;
}

let pushes: CapturedPush[] = [];
/** How the push service answers a request; each test sets its own. */
let answer: (req: Request) => Response = () => new Response(null, { status: 201 });
let fetchSpy: MockInstance<typeof fetch>;

beforeEach(() => {
  pushes = [];
  answer = () => new Response(null, { status: 201 });
  const realFetch = globalThis.fetch;
  fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input, init);
    if (new URL(req.url).host !== PUSH_HOST) return realFetch(input, init);
    pushes.push({ url: req.url, headers: req.headers, body: new Uint8Array(await req.arrayBuffer()) });
    return answer(req);
  });
});

afterEach(() => {
  fetchSpy.mockRestore();
});

// ---- helpers ---------------------------------------------------------------------------------

/** A browser's subscription: a fresh P-256 key pair and auth secret, as `toJSON()` gives them. */
async function browserSubscription(path = crypto.randomUUID()) {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  return {
    endpoint: `https://${PUSH_HOST}/send/${path}`,
    expirationTime: null,
    keys: { p256dh: toBase64Url(raw), auth: toBase64Url(crypto.getRandomValues(new Uint8Array(16))) },
  };
}

async function subscribe(user: TestUser, path?: string): Promise<string> {
  const sub = await browserSubscription(path);
  const res = await api("PUT", "/v1/push/subscription", { token: user.token, body: sub });
  expect(res.status, JSON.stringify(res.body)).toBe(204);
  return sub.endpoint;
}

let seqCounter = 0;
function jobFor(user: TestUser, patch: Partial<PushJob> = {}): PushJob {
  seqCounter++;
  return {
    v: 1,
    user_id: user.id,
    channel_id: `test-channel-${crypto.randomUUID()}`,
    seq: seqCounter,
    message_id: `msg-${seqCounter}`,
    sender_id: "someone-else",
    preview: "hello there",
    badge: 1,
    queued_at: Date.now(),
    ...patch,
  };
}

/**
 * The jobs of `jobFor` name a channel no user object knows, which it would refuse to retry
 * (a channel the user left). Tests of the consumer's own retry rules say the user object still
 * wants the job; "retries ask the user object" below runs the real decision.
 */
const STILL_WANTED: Partial<PushConsumerDeps> = { retryWanted: async () => true };

/**
 * Runs the Worker's queue handler on a one-message batch, as the Queues runtime would (or the
 * queue's consumer with `deps` replacing some of its production wiring).
 * `getQueueResult` names retried messages but drops their delay, so `retries` records the
 * delay each `retry()` asked for.
 */
async function deliver(
  queue: string,
  body: unknown,
  opts: { id?: string; attempts?: number; deps?: Partial<PushConsumerDeps> } = {},
) {
  const id = opts.id ?? crypto.randomUUID();
  const batch = createMessageBatch<PushJob>(queue, [
    { id, timestamp: new Date(), attempts: opts.attempts ?? 1, body: body as PushJob },
  ]);
  const retries: { msgId: string; delaySeconds?: number }[] = [];
  for (const msg of batch.messages) {
    const retry = msg.retry.bind(msg);
    vi.spyOn(msg, "retry").mockImplementation((options) => {
      retries.push({ msgId: msg.id, delaySeconds: options?.delaySeconds });
      retry(options);
    });
  }
  const ctx = createExecutionContext();
  if (!opts.deps) await worker.queue(batch, env, ctx);
  else if (queue === PUSH_QUEUE) await consumePushBatch(batch, pushConsumerDeps(env, opts.deps));
  else await consumeDeadLetters(batch, pushConsumerDeps(env, opts.deps));
  const result = await getQueueResult(batch, ctx);
  expect(result.retryMessages.map((r) => r.msgId)).toEqual(retries.map((r) => r.msgId));
  return { id, result, retries };
}

async function subscriptionRow(deviceId: string) {
  return env.DB.prepare("SELECT * FROM push_subscriptions WHERE device_id = ?")
    .bind(deviceId)
    .first<{ device_id: string; user_id: string; endpoint: string; p256dh: string; auth: string }>();
}

async function sentRows(channelId: string) {
  const rows = await env.DB.prepare("SELECT device_id, seq FROM push_sent WHERE channel_id = ?")
    .bind(channelId)
    .all<{ device_id: string; seq: number }>();
  return rows.results;
}

// ---- the subscription API --------------------------------------------------------------------

describe("subscription API", () => {
  it("serves the VAPID public key without a token", async () => {
    const res = await api("GET", "/v1/push/vapid-public-key");
    expect(res).toEqual({ status: 200, body: { public_key: env.VAPID_PUBLIC_KEY } });
  });

  it("stores one subscription per device; a new one replaces the old", async () => {
    const user = await signup("push");
    const first = await subscribe(user);
    expect((await subscriptionRow(user.deviceId))?.endpoint).toBe(first);
    const sub = await browserSubscription();
    expect((await api("PUT", "/v1/push/subscription", { token: user.token, body: sub })).status).toBe(204);
    const row = await subscriptionRow(user.deviceId);
    expect(row).toMatchObject({
      user_id: user.id,
      endpoint: sub.endpoint,
      p256dh: sub.keys.p256dh,
      auth: sub.keys.auth,
    });
    const count = await env.DB.prepare("SELECT count(*) AS n FROM push_subscriptions WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
  });

  it("moves an endpoint to the device that registers it last (one browser, two logins)", async () => {
    const a = await signup("push");
    const b = await signup("push");
    const endpoint = await subscribe(a, "shared-browser");
    await subscribe(b, "shared-browser");
    expect(await subscriptionRow(a.deviceId)).toBeNull();
    expect((await subscriptionRow(b.deviceId))?.endpoint).toBe(endpoint);
  });

  it("DELETE removes the caller's subscription only, and is idempotent", async () => {
    const laptop = await signup("push");
    const phone = await login(laptop, "phone");
    await subscribe(laptop);
    await subscribe(phone);
    expect((await api("DELETE", "/v1/push/subscription", { token: phone.token })).status).toBe(204);
    expect(await subscriptionRow(phone.deviceId)).toBeNull();
    expect(await subscriptionRow(laptop.deviceId)).not.toBeNull();
    expect((await api("DELETE", "/v1/push/subscription", { token: phone.token })).status).toBe(204);
  });

  it("refuses a subscription without a token", async () => {
    expectError(
      await api("PUT", "/v1/push/subscription", { body: await browserSubscription() }),
      "unauthenticated",
    );
    expectError(await api("DELETE", "/v1/push/subscription"), "unauthenticated");
  });

  it("refuses an http:// endpoint, bad keys and unknown fields with validation_failed", async () => {
    const user = await signup("push");
    const good = await browserSubscription();
    const bad: [string, unknown][] = [
      ["http endpoint", { ...good, endpoint: `http://${PUSH_HOST}/send/x` }],
      ["not a URL", { ...good, endpoint: "push me" }],
      ["credentials in URL", { ...good, endpoint: `https://u:p@${PUSH_HOST}/x` }],
      ["short p256dh", { ...good, keys: { ...good.keys, p256dh: good.keys.p256dh.slice(0, 40) } }],
      ["compressed point", { ...good, keys: { ...good.keys, p256dh: `Ag${good.keys.p256dh.slice(2)}` } }],
      ["auth not base64url", { ...good, keys: { ...good.keys, auth: "not+base64/url!!!!!!!!" } }],
      ["auth too long", { ...good, keys: { ...good.keys, auth: `${good.keys.auth}AAAA` } }],
      ["missing keys", { endpoint: good.endpoint }],
      ["unknown field", { ...good, extra: 1 }],
    ];
    for (const [label, body] of bad) {
      expectError(
        await api("PUT", "/v1/push/subscription", { token: user.token, body }),
        "validation_failed",
        label,
      );
    }
    expect(await subscriptionRow(user.deviceId)).toBeNull();
  });

  it("refuses an endpoint on an IP address or a local name: the server would POST into a private network", async () => {
    const user = await signup("push");
    const good = await browserSubscription();
    const refused: [string, string][] = [
      ["https://127.0.0.1/push", "not an IP address"],
      ["https://10.0.0.8:8443/push", "not an IP address"],
      ["https://169.254.169.254/latest/meta-data", "not an IP address"],
      ["https://0x7f000001/push", "not an IP address"],
      ["https://[::1]/push", "not an IP address"],
      ["https://localhost/push", "not a single-label host"],
      ["https://router/push", "not a single-label host"],
      ["https://push.localhost/x", "(.localhost)"],
      ["https://printer.local/x", "(.local)"],
      ["https://metadata.google.internal/x", "(.internal)"],
      ["https://nas.home.arpa/x", "(.arpa)"],
    ];
    for (const [endpoint, why] of refused) {
      const res = await api("PUT", "/v1/push/subscription", {
        token: user.token,
        body: { ...good, endpoint },
      });
      expectError(res, "validation_failed", endpoint);
      expect(res.body.error.message, endpoint).toContain(why);
      expect(res.body.error.details).toEqual([{ path: "endpoint", message: res.body.error.message }]);
    }
    expect(await subscriptionRow(user.deviceId)).toBeNull();
    // This deployment names no local receiver (wrangler.toml: PUSH_LOCAL_RECEIVERS = "").
    expect(env.PUSH_LOCAL_RECEIVERS).toBe("");
    const fcm = { ...good, endpoint: "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bH" };
    expect((await api("PUT", "/v1/push/subscription", { token: user.token, body: fcm })).status).toBe(204);
  });

  it("a revoked or signed-out device's subscription goes with it", async () => {
    const laptop = await signup("push");
    const phone = await login(laptop, "phone");
    const tablet = await login(laptop, "tablet");
    await subscribe(laptop);
    await subscribe(phone);
    await subscribe(tablet);
    expect((await api("DELETE", `/v1/devices/${phone.deviceId}`, { token: laptop.token })).status).toBe(204);
    expect(await subscriptionRow(phone.deviceId)).toBeNull();
    expect((await api("POST", "/v1/auth/logout", { token: tablet.token })).status).toBe(204);
    expect(await subscriptionRow(tablet.deviceId)).toBeNull();
    expect(await subscriptionRow(laptop.deviceId)).not.toBeNull();
  });
});

// ---- the consumer, one batch at a time -------------------------------------------------------

describe("push consumer", () => {
  it("201: sends an encrypted, VAPID-signed push, records it and acks; a redelivery sends nothing", async () => {
    const user = await signup("push");
    const endpoint = await subscribe(user);
    const job = jobFor(user);
    const { id, result } = await deliver(PUSH_QUEUE, job);
    expect(result.explicitAcks).toEqual([id]);
    expect(result.retryMessages).toEqual([]);

    expect(pushes).toHaveLength(1);
    const [push] = pushes;
    expect(push?.url).toBe(endpoint);
    expect(push?.headers.get("content-encoding")).toBe("aes128gcm");
    expect(push?.headers.get("topic")).toBe(await pushTopic(job.channel_id));
    expect(push?.headers.get("ttl")).toBe(String(PUSH_TTL_S));
    expect(push?.headers.get("urgency")).toBe("high");
    expect(push?.headers.get("authorization")).toMatch(
      new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${env.VAPID_PUBLIC_KEY}$`),
    );
    // The plaintext is never on the wire: the body is the padded aes128gcm record.
    expect(new TextDecoder().decode(push?.body)).not.toContain("hello there");
    expect(await sentRows(job.channel_id)).toEqual([{ device_id: user.deviceId, seq: job.seq }]);

    const again = await deliver(PUSH_QUEUE, job);
    expect(again.result.explicitAcks).toEqual([again.id]);
    expect(pushes).toHaveLength(1);
  });

  it("sends to every subscribed device and, on a retry, only to those that have not had it", async () => {
    const laptop = await signup("push");
    const phone = await login(laptop, "phone");
    await subscribe(laptop);
    const phoneEndpoint = await subscribe(phone);
    const job = jobFor(laptop);
    answer = (req) => new Response(null, { status: req.url === phoneEndpoint ? 500 : 201 });
    const first = await deliver(PUSH_QUEUE, job);
    expect(first.retries).toEqual([{ msgId: first.id, delaySeconds: 2 }]);
    expect(pushes).toHaveLength(2);
    expect(await sentRows(job.channel_id)).toEqual([{ device_id: laptop.deviceId, seq: job.seq }]);

    answer = () => new Response(null, { status: 201 });
    const second = await deliver(PUSH_QUEUE, job, { id: first.id, attempts: 2, deps: STILL_WANTED });
    expect(second.result.explicitAcks).toEqual([first.id]);
    expect(pushes.slice(2).map((p) => p.url)).toEqual([phoneEndpoint]);
    expect((await sentRows(job.channel_id)).map((r) => r.device_id).sort()).toEqual(
      [laptop.deviceId, phone.deviceId].sort(),
    );
  });

  it("404/410: removes the subscription and acks", async () => {
    for (const status of [410, 404]) {
      const user = await signup("push");
      await subscribe(user);
      answer = () => new Response("gone", { status });
      const { id, result } = await deliver(PUSH_QUEUE, jobFor(user));
      expect(result.explicitAcks, String(status)).toEqual([id]);
      expect(result.retryMessages).toEqual([]);
      expect(await subscriptionRow(user.deviceId), String(status)).toBeNull();
    }
  });

  it("500: retries with exponential backoff and records nothing as sent", async () => {
    const user = await signup("push");
    await subscribe(user);
    answer = () => new Response("oops", { status: 500 });
    const job = jobFor(user);
    const first = await deliver(PUSH_QUEUE, job);
    expect(first.result.explicitAcks).toEqual([]);
    expect(first.retries).toEqual([{ msgId: first.id, delaySeconds: 2 }]);
    const third = await deliver(PUSH_QUEUE, job, { attempts: 3, deps: STILL_WANTED });
    expect(third.retries).toEqual([{ msgId: third.id, delaySeconds: 8 }]);
    const late = await deliver(PUSH_QUEUE, job, { attempts: 20, deps: STILL_WANTED });
    expect(late.retries).toEqual([{ msgId: late.id, delaySeconds: 300 }]);
    expect(await sentRows(job.channel_id)).toEqual([]);
    expect(await subscriptionRow(user.deviceId)).not.toBeNull();
  });

  it("429 with Retry-After: 7 retries after exactly 7 seconds", async () => {
    const user = await signup("push");
    await subscribe(user);
    answer = () => new Response(null, { status: 429, headers: { "retry-after": "7" } });
    const { id, result, retries } = await deliver(PUSH_QUEUE, jobFor(user));
    expect(retries).toEqual([{ msgId: id, delaySeconds: 7 }]);
    expect(result.explicitAcks).toEqual([]);
  });

  it("a network error counts as a failed send and is retried", async () => {
    const user = await signup("push");
    await subscribe(user);
    answer = () => {
      throw new TypeError("connection reset");
    };
    const { id, retries } = await deliver(PUSH_QUEUE, jobFor(user));
    expect(retries).toEqual([{ msgId: id, delaySeconds: 2 }]);
  });

  it("a malformed job is acked without sending (retrying cannot fix it)", async () => {
    const user = await signup("push");
    await subscribe(user);
    const malformed: unknown[] = [
      "not an object",
      { ...jobFor(user), v: 2 },
      { ...jobFor(user), seq: 0 },
      { ...jobFor(user), extra: true },
    ];
    for (const body of malformed) {
      const { id, result } = await deliver(PUSH_QUEUE, body);
      expect(result.explicitAcks, JSON.stringify(body)).toEqual([id]);
      expect(result.retryMessages).toEqual([]);
    }
    expect(pushes).toEqual([]);
  });

  it("a stored subscription the endpoint rule refuses is removed, and nothing is sent to it", async () => {
    const user = await signup("push");
    const laptop = await subscribe(user);
    const phone = await login(user, "phone");
    // Written before the rule existed (or while a local receiver was allowed): straight into D1.
    const sub = await browserSubscription();
    await env.DB.prepare(
      "INSERT INTO push_subscriptions (device_id, user_id, endpoint, p256dh, auth, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
      .bind(phone.deviceId, user.id, "https://10.0.0.8/push/x", sub.keys.p256dh, sub.keys.auth, Date.now())
      .run();
    const requested: string[] = [];
    fetchSpy.mockImplementation(async (input, init) => {
      const req = new Request(input, init);
      requested.push(req.url);
      return new Response(null, { status: 201 });
    });
    const { id, result } = await deliver(PUSH_QUEUE, jobFor(user));
    expect(result.explicitAcks).toEqual([id]);
    expect(requested).toEqual([laptop]);
    expect(await subscriptionRow(phone.deviceId)).toBeNull();
    expect(await subscriptionRow(user.deviceId)).not.toBeNull();
  });

  it("a user with no subscription: acked, nothing sent", async () => {
    const user = await signup("push");
    const { id, result } = await deliver(PUSH_QUEUE, jobFor(user));
    expect(result.explicitAcks).toEqual([id]);
    expect(pushes).toEqual([]);
  });

  it("tells the user object when a job is settled, not while it is being retried", async () => {
    const user = await signup("push");
    await subscribe(user);
    const settled: [string, string, number][] = [];
    const sentPayloads: PushPayload[] = [];
    const real = pushConsumerDeps(env);
    const deps = pushConsumerDeps(env, {
      ...STILL_WANTED,
      settle: async (...args) => {
        settled.push(args);
      },
      provider: {
        send: async (target, payload, opts) => {
          sentPayloads.push(payload);
          return real.provider.send(target, payload, opts);
        },
      },
    });
    const job = jobFor(user, { preview: "é".repeat(150), sender_id: "sender-1", badge: 4 });
    const run = async (attempts: number) => {
      const batch = createMessageBatch<unknown>(PUSH_QUEUE, [
        { id: "settle-test", timestamp: new Date(), attempts, body: job },
      ]);
      await consumePushBatch(batch, deps);
      return getQueueResult(batch, createExecutionContext());
    };
    answer = () => new Response(null, { status: 503 });
    expect((await run(1)).retryMessages).toHaveLength(1);
    expect(settled).toEqual([]);
    answer = () => new Response(null, { status: 201 });
    expect((await run(2)).explicitAcks).toEqual(["settle-test"]);
    expect(settled).toEqual([[user.id, job.channel_id, job.seq]]);
    // The payload: a reference and a preview of at most 100 characters, never a body.
    expect(sentPayloads.at(-1)).toEqual({
      v: 1,
      type: "message",
      channel_id: job.channel_id,
      seq: job.seq,
      message_id: job.message_id,
      sender_id: "sender-1",
      preview: "é".repeat(100),
      badge: 4,
    } satisfies PushPayload);
  });
});

describe("dead-letter consumer", () => {
  it("records the failed job in push_failures under the message id and acks", async () => {
    const user = await signup("push");
    const job = jobFor(user);
    const id = `dead-${crypto.randomUUID()}`;
    const { result } = await deliver(PUSH_DEAD_LETTER_QUEUE, job, { id, attempts: 1 });
    expect(result.explicitAcks).toEqual([id]);
    const row = await env.DB.prepare("SELECT * FROM push_failures WHERE id = ?").bind(id).first();
    expect(row).toMatchObject({ user_id: user.id, channel_id: job.channel_id, seq: job.seq, attempts: 1 });
    expect(JSON.parse(String(row?.body))).toEqual(job);
    // A redelivered dead letter is recorded once.
    await deliver(PUSH_DEAD_LETTER_QUEUE, job, { id });
    const n = await env.DB.prepare("SELECT count(*) AS n FROM push_failures WHERE id = ?").bind(id).first();
    expect(n?.n).toBe(1);
  });
});

// ---- the real queue pipeline in workerd ------------------------------------------------------

describe("queue pipeline", () => {
  it("a job sent to PUSH_QUEUE reaches the device", async () => {
    const user = await signup("push");
    await subscribe(user);
    const job = jobFor(user);
    await env.PUSH_QUEUE.send(job);
    await poll("push_sent row", async () => (await sentRows(job.channel_id))[0]);
    expect(pushes).toHaveLength(1);
  });

  it("a push service answering 500 gets every attempt, then push_failures records them all", async () => {
    // A real message to an offline member, so its user object queues the job and counts it.
    const { a, b, group } = await groupOfTwo();
    const endpoint = await subscribe(b);
    answer = () => new Response("down", { status: 500 });
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "dead", text: "nobody will see this" },
    });
    // vitest.config.ts: maxRetries 2, so 3 attempts; the consumer backs off 2 s, then 4 s.
    const row = await poll(
      "push_failures row",
      () => env.DB.prepare("SELECT * FROM push_failures WHERE channel_id = ?").bind(group.channel_id).first(),
      15_000,
    );
    expect(row).toMatchObject({ user_id: b.id, seq: 1, attempts: 3 });
    expect(pushes.filter((p) => p.url === endpoint)).toHaveLength(3);
    expect(await sentRows(group.channel_id)).toEqual([]);
  });
});

// ---- retries ask the user object -------------------------------------------------------------

describe("retries ask the user object", () => {
  /** B, offline with two subscribed devices, has unread messages 1..n from A in a group. */
  async function offlineWithUnread(n: number) {
    const { a, b, group } = await groupOfTwo();
    for (let i = 1; i <= n; i++) {
      await api("POST", `/v1/channels/${group.channel_id}/messages`, {
        token: a.token,
        body: { client_msg_id: `m${i}`, text: `message ${i}` },
      });
    }
    // The pipeline's own jobs find no subscription: the devices subscribe once the user object
    // has heard that the last of them settled (its `pushes` row is gone).
    await channelAtHead(b.token, group.channel_id, n);
    await poll("the pipeline's own jobs settled", () =>
      runInDurableObject(env.USER_INBOX.getByName(b.id), async (_, state) => {
        return state.storage.sql.exec("SELECT 1 FROM pushes").toArray().length === 0;
      }),
    );
    const phone = await login(b, "phone");
    const endpoints = [await subscribe(b), await subscribe(phone)];
    const retryOf = (seq: number, attempts: number) =>
      deliver(PUSH_QUEUE, jobFor(b, { channel_id: group.channel_id, seq, sender_id: a.id }), { attempts });
    const sentTo = () => pushes.filter((p) => endpoints.includes(p.url)).length;
    return { a, b, phone, group, retryOf, sentTo };
  }

  it("a retry goes while no device is connected and the message is unread", async () => {
    const t = await offlineWithUnread(1);
    const { result } = await t.retryOf(1, 2);
    expect(result.explicitAcks).toHaveLength(1);
    expect(t.sentTo()).toBe(2);
  });

  it("a retry is dropped for every device once any device of the user is connected", async () => {
    const t = await offlineWithUnread(1);
    const socket = await connect(t.phone);
    const { result } = await t.retryOf(1, 2);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(t.sentTo()).toBe(0);
    expect(await sentRows(t.group.channel_id)).toEqual([]);
    socket.close();
  });

  it("a retry is dropped once the message was read (on another device, or anywhere)", async () => {
    const t = await offlineWithUnread(2);
    const read = await api("POST", `/v1/channels/${t.group.channel_id}/read`, {
      token: t.b.token,
      body: { seq: 1 },
    });
    expect(read.status).toBeLessThan(300);
    await poll("the read marker at b's user object", async () => {
      const list = await api("GET", "/v1/channels", { token: t.b.token });
      return list.body.channels.find((c: { read_seq: number }) => c.read_seq === 1);
    });
    expect((await t.retryOf(1, 3)).result.explicitAcks).toHaveLength(1);
    expect(t.sentTo()).toBe(0);
    // Message 2 is still unread: its retry goes.
    await t.retryOf(2, 2);
    expect(t.sentTo()).toBe(2);
  });
});
