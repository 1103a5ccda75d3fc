// Local development watches real pushes with a local receiver (scripts/push-receiver.mjs): the
// Worker, booted as `npm start` boots it (wrangler, real Queues, no outboundService), sends real
// HTTP requests to 127.0.0.1 because the deployment names that receiver in PUSH_LOCAL_RECEIVERS.
// Nothing else local is relaxed: another port of the same machine, or https://localhost, is
// still refused. Production (the setting empty) refuses all of them; test/workers covers that.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { bootWorker } from "../../scripts/boot-worker.mjs";
import { startPushReceiver } from "../../scripts/push-receiver.mjs";
import { TIER_LIMITS } from "./limits.mjs";

let receiver;
let server;

before(async () => {
  receiver = await startPushReceiver();
  server = await bootWorker({ vars: { ...TIER_LIMITS, PUSH_LOCAL_RECEIVERS: receiver.origin } });
});

after(async () => {
  await server?.close();
  await receiver?.close();
});

async function api(method, path, { token, body } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

async function signup(name) {
  const res = await api("POST", "/v1/auth/signup", {
    body: {
      handle: `${name}_${randomUUID().slice(0, 8)}`,
      display_name: name,
      password: "correct horse battery",
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.user.id, token: res.body.access_token };
}

describe("a local push receiver named by PUSH_LOCAL_RECEIVERS", () => {
  it("gets a real, decryptable push over the loopback; other local endpoints are still refused", async () => {
    const alice = await signup("alice");
    const bob = await signup("bob");
    await api("POST", "/v1/friends/requests", { token: alice.token, body: { user_id: bob.id } });
    assert.equal((await api("POST", `/v1/friends/${alice.id}/accept`, { token: bob.token })).status, 200);
    const dm = await api("POST", "/v1/channels/dm", { token: alice.token, body: { user_id: bob.id } });

    const port = Number(new URL(receiver.origin).port);
    for (const endpoint of [
      `http://127.0.0.1:${port + 1}/push/x`,
      "https://localhost/push/x",
      "https://10.0.0.8/x",
    ]) {
      const res = await api("PUT", "/v1/push/subscription", {
        token: bob.token,
        body: { ...receiver.subscription, endpoint },
      });
      assert.equal(res.status, 400, endpoint);
      assert.equal(res.body.error.code, "validation_failed");
    }
    const put = await api("PUT", "/v1/push/subscription", { token: bob.token, body: receiver.subscription });
    assert.equal(put.status, 204, JSON.stringify(put.body));

    const arrived = receiver.next(15_000);
    const sent = await api("POST", `/v1/channels/${dm.body.channel_id}/messages`, {
      token: alice.token,
      body: { client_msg_id: "m1", text: "lunch?" },
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const push = await arrived;
    assert.equal(push.error, null);
    assert.equal(push.path, new URL(receiver.subscription.endpoint).pathname);
    assert.match(push.headers.authorization, /^vapid t=/);
    assert.deepEqual(push.payload, {
      v: 1,
      type: "message",
      channel_id: dm.body.channel_id,
      seq: sent.body.seq,
      message_id: sent.body.id,
      sender_id: alice.id,
      preview: "lunch?",
      badge: 1,
    });
  });
});
