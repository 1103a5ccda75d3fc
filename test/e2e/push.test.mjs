// Web Push end to end, checked from outside workerd: the built Worker runs in Miniflare with an
// `outboundService` standing in for the push service, so the request the consumer sends can be
// taken apart in Node. The body is decrypted with http_ece (RFC 8291, aes128gcm) using the
// browser's private key, and the VAPID JWT (RFC 8292) is verified with the server's public key.
// The VAPID pair, the browser key pair and the auth secret are all made here.
//
// Raw Miniflare, not wrangler's createTestHarness: only Miniflare takes an outboundService.
// Bindings come from wrangler.toml (unstable_getMiniflareWorkerOptions); Miniflare 5 wants them
// in its new shape, hence convertV4MiniflareOptions (docs: TOOLCHAIN.md §9, §11).
import assert from "node:assert/strict";
import { createECDH, createHash, createPublicKey, randomBytes, randomUUID, verify } from "node:crypto";
import { after, before, describe, it } from "node:test";
import ece from "http_ece";
import { bootMiniflare } from "../../scripts/boot-miniflare.mjs";
import { generateVapidKeys } from "../../scripts/vapid.mjs";

const PUSH_ORIGIN = "https://push.example.test";
const VAPID_SUBJECT = "mailto:ops@edge-chat.invalid"; // wrangler.toml [vars]
const vapid = generateVapidKeys();

let mf;
let api;
let dispose;
/** What the fake push service does with each request; each test sets it. */
let pushService = async () => new Response(null, { status: 201 });

before(async () => {
  ({ mf, api, dispose } = await bootMiniflare({
    vapid,
    outbound: (req) => pushService(req),
    // No batching wait; a 500 gets one retry before the dead-letter queue.
    queueConsumers: {
      push: { maxBatchTimeout: 0, maxRetries: 1, deadLetterQueue: "push-dlq" },
      "push-dlq": { maxBatchTimeout: 0 },
    },
  }));
});

after(async () => {
  await dispose?.();
});

/** A user with one device, and that device subscribed as a browser would (its own P-256 key). */
async function subscribedUser() {
  const handle = `push_${randomUUID().slice(0, 8)}`;
  const signup = await api("POST", "/v1/auth/signup", {
    body: { handle, display_name: "Push", password: "correct horse battery", device: { name: "b" } },
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  const browserKey = createECDH("prime256v1");
  browserKey.generateKeys();
  const authSecret = randomBytes(16);
  const endpoint = `${PUSH_ORIGIN}/send/${randomUUID()}`;
  const put = await api("PUT", "/v1/push/subscription", {
    token: signup.body.access_token,
    body: {
      endpoint,
      keys: {
        p256dh: browserKey.getPublicKey().toString("base64url"),
        auth: authSecret.toString("base64url"),
      },
    },
  });
  assert.equal(put.status, 204, JSON.stringify(put.body));
  return {
    userId: signup.body.user.id,
    token: signup.body.access_token,
    deviceId: signup.body.device_id,
    browserKey,
    authSecret,
    endpoint,
  };
}

/** A friend of `user` who opens a 1:1 chat with them; returns the sender's token and the channel. */
async function dmWith(user) {
  const signup = await api("POST", "/v1/auth/signup", {
    body: {
      handle: `from_${randomUUID().slice(0, 8)}`,
      display_name: "From",
      password: "correct horse battery",
    },
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  const token = signup.body.access_token;
  await api("POST", "/v1/friends/requests", { token, body: { user_id: user.userId } });
  const accept = await api("POST", `/v1/friends/${signup.body.user.id}/accept`, { token: user.token });
  assert.equal(accept.status, 200, JSON.stringify(accept.body));
  const dm = await api("POST", "/v1/channels/dm", { token, body: { user_id: user.userId } });
  assert.equal(dm.status, 200, JSON.stringify(dm.body));
  return { token, channelId: dm.body.channel_id };
}

function jobFor(userId, patch = {}) {
  return {
    v: 1,
    user_id: userId,
    channel_id: `channel-${randomUUID()}`,
    seq: 42,
    message_id: "01JAAAAAAAAAAAAAAAAAAAAAAA",
    sender_id: "01JBBBBBBBBBBBBBBBBBBBBBBB",
    preview: "가".repeat(150),
    badge: 3,
    queued_at: Date.now(),
    ...patch,
  };
}

/** The push requests the Worker makes, as a promise for the first `n`. */
function capturePushes(n, answer) {
  const seen = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`saw ${seen.length} of ${n} push requests`)), 10_000);
    pushService = async (req) => {
      seen.push({
        url: req.url,
        headers: Object.fromEntries(req.headers),
        body: Buffer.from(await req.arrayBuffer()),
      });
      if (seen.length === n) {
        clearTimeout(timer);
        resolve(seen);
      }
      return answer(req);
    };
  });
}

async function poll(what, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The Web Push Topic of a channel, computed independently of protocol/push.ts. */
function topicOf(channelId) {
  return createHash("sha256").update(channelId).digest().subarray(0, 24).toString("base64url");
}

describe("Web Push from the Worker, seen by the push service", () => {
  it("sends an aes128gcm payload the browser can decrypt, signed with a valid VAPID JWT", async () => {
    const user = await subscribedUser();
    const job = jobFor(user.userId);
    const captured = capturePushes(1, () => new Response(null, { status: 201 }));
    await (await mf.getQueueProducer("PUSH_QUEUE")).send(job);
    const [push] = await captured;

    assert.equal(push.url, user.endpoint);
    assert.equal(push.headers["content-encoding"], "aes128gcm");
    assert.equal(push.headers.ttl, "86400");
    assert.equal(push.headers.urgency, "high");
    assert.equal(push.headers.topic, topicOf(job.channel_id));

    // RFC 8291: only the browser's private key and auth secret can read it.
    const plaintext = ece.decrypt(push.body, {
      version: "aes128gcm",
      privateKey: user.browserKey,
      authSecret: user.authSecret,
    });
    const payload = JSON.parse(plaintext.toString("utf8"));
    assert.deepEqual(payload, {
      v: 1,
      type: "message",
      channel_id: job.channel_id,
      seq: job.seq,
      message_id: job.message_id,
      sender_id: job.sender_id,
      preview: "가".repeat(100),
      badge: 3,
    });
    assert.ok([...payload.preview].length <= 100);
    assert.equal("body" in payload, false);

    // RFC 8292: `vapid t=<JWT>, k=<our public key>`, ES256 over the push service's origin.
    const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(push.headers.authorization);
    assert.ok(m, push.headers.authorization);
    const [, header, claims, signature, k] = m;
    assert.equal(k, vapid.publicKey);
    assert.deepEqual(JSON.parse(Buffer.from(header, "base64url")), { typ: "JWT", alg: "ES256" });
    const point = Buffer.from(k, "base64url");
    const key = createPublicKey({
      key: {
        kty: "EC",
        crv: "P-256",
        x: point.subarray(1, 33).toString("base64url"),
        y: point.subarray(33, 65).toString("base64url"),
      },
      format: "jwk",
    });
    const signed = Buffer.from(`${header}.${claims}`);
    const sig = Buffer.from(signature, "base64url");
    assert.ok(verify("sha256", signed, { key, dsaEncoding: "ieee-p1363" }, sig), "JWT signature");
    const other = createPublicKey({ key: generateVapidKeysJwk(), format: "jwk" });
    assert.equal(verify("sha256", signed, { key: other, dsaEncoding: "ieee-p1363" }, sig), false);
    const jwt = JSON.parse(Buffer.from(claims, "base64url"));
    assert.equal(jwt.aud, PUSH_ORIGIN);
    assert.equal(jwt.sub, VAPID_SUBJECT);
    const nowS = Date.now() / 1000;
    assert.ok(jwt.exp > nowS && jwt.exp <= nowS + 24 * 3600, `exp ${jwt.exp}`);

    const db = await mf.getD1Database("DB");
    await poll("push_sent row", () =>
      db
        .prepare("SELECT 1 FROM push_sent WHERE device_id = ? AND channel_id = ?")
        .bind(user.deviceId, job.channel_id)
        .first(),
    );
  });

  it("410 from the push service removes the subscription", async () => {
    const user = await subscribedUser();
    const captured = capturePushes(1, () => new Response(null, { status: 410 }));
    await (await mf.getQueueProducer("PUSH_QUEUE")).send(jobFor(user.userId));
    await captured;
    const db = await mf.getD1Database("DB");
    await poll("subscription removed", async () => {
      const row = await db
        .prepare("SELECT 1 FROM push_subscriptions WHERE device_id = ?")
        .bind(user.deviceId)
        .first();
      return row === null;
    });
  });

  it("500 from the push service: retried, then recorded by the dead-letter consumer", async () => {
    // A real message to an offline user: the user object queues the job, and a retry goes only
    // while it still wants it (a job for a channel it does not know would be dropped).
    const user = await subscribedUser();
    const from = await dmWith(user);
    const captured = capturePushes(2, () => new Response("unavailable", { status: 500 }));
    const sent = await api("POST", `/v1/channels/${from.channelId}/messages`, {
      token: from.token,
      body: { client_msg_id: "m1", text: "are you there?" },
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const pushes = await captured;
    assert.deepEqual(
      pushes.map((p) => p.url),
      [user.endpoint, user.endpoint],
    );
    const db = await mf.getD1Database("DB");
    const failure = await poll("push_failures row", () =>
      db.prepare("SELECT * FROM push_failures WHERE channel_id = ?").bind(from.channelId).first(),
    );
    assert.equal(failure.user_id, user.userId);
    assert.equal(failure.seq, sent.body.seq);
    // Both attempts on the push queue (maxRetries 1 above), not the dead letter's one delivery.
    assert.equal(failure.attempts, 2);
    assert.equal(JSON.parse(failure.body).message_id, sent.body.id);
  });
});

/** A public key that is not ours, to show a wrong key does not verify. */
function generateVapidKeysJwk() {
  const point = Buffer.from(generateVapidKeys().publicKey, "base64url");
  return {
    kty: "EC",
    crv: "P-256",
    x: point.subarray(1, 33).toString("base64url"),
    y: point.subarray(33, 65).toString("base64url"),
  };
}
