// A local push receiver, to watch real Web Push requests from the Worker during development.
// It plays both ends a browser would: it holds a subscription's key pair and auth secret, and it
// is the push service the subscription points at (an HTTP server on 127.0.0.1). Every request
// the Worker sends it is checked for its VAPID header and decrypted (RFC 8291, aes128gcm, with
// http_ece), then printed.
//
// The server refuses endpoints on an IP address or a local name unless the deployment names
// them (domain/push-endpoint.ts), so allow this receiver's origin in .dev.vars first:
//
//   PUSH_LOCAL_RECEIVERS=http://127.0.0.1:8790
//
// then `npm start`, and in another terminal sign in as the user to watch (a new device of theirs,
// "push receiver", which subscribes and never connects a socket):
//
//   node scripts/push-receiver.mjs --handle bob --password 'battery staple'
//
// A push is sent while none of the user's devices holds a user socket (docs/protocol.md §8.9):
// close Bob's browser tabs, then send him a message. Options: --api (default
// http://127.0.0.1:8787), --port (default 8790). Tests import `startPushReceiver`.
import { createECDH, randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import ece from "http_ece";

/**
 * Starts a receiver on `host:port` (0: any free port). `subscription` is the body for
 * `PUT /v1/push/subscription`; `pushes` collects what arrives; `next()` waits for the next one.
 */
export async function startPushReceiver({ host = "127.0.0.1", port = 0, status = 201 } = {}) {
  const key = createECDH("prime256v1");
  key.generateKeys();
  const authSecret = randomBytes(16);
  const pushes = [];
  const waiters = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const push = { path: req.url, headers: req.headers, payload: null, error: null };
      try {
        const plain = ece.decrypt(Buffer.concat(chunks), {
          version: "aes128gcm",
          privateKey: key,
          authSecret,
        });
        push.payload = JSON.parse(plain.toString("utf8"));
      } catch (err) {
        push.error = String(err);
      }
      pushes.push(push);
      for (const w of waiters.splice(0)) w(push);
      res.writeHead(push.error ? 400 : status).end();
    });
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  const origin = `http://${host}:${server.address().port}`;
  return {
    origin,
    pushes,
    subscription: {
      endpoint: `${origin}/push/${randomUUID()}`,
      expirationTime: null,
      keys: { p256dh: key.getPublicKey().toString("base64url"), auth: authSecret.toString("base64url") },
    },
    /** The next push to arrive, or a rejection after `ms`. */
    next(ms = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no push within ${ms} ms`)), ms);
        waiters.push((push) => {
          clearTimeout(timer);
          resolve(push);
        });
      });
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      api: { type: "string", default: "http://127.0.0.1:8787" },
      port: { type: "string", default: "8790" },
      handle: { type: "string" },
      password: { type: "string" },
    },
  });
  if (!values.handle || !values.password) {
    console.error(
      "usage: node scripts/push-receiver.mjs --handle <handle> --password <password> [--port 8790]",
    );
    process.exit(2);
  }
  const receiver = await startPushReceiver({ port: Number(values.port) });
  const call = async (method, path, body, token) => {
    const res = await fetch(`${values.api}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  };
  const login = await call("POST", "/v1/auth/login", {
    handle: values.handle,
    password: values.password,
    device: { name: "push receiver", platform: "script" },
  });
  if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
  const put = await call("PUT", "/v1/push/subscription", receiver.subscription, login.body.access_token);
  if (put.status !== 204) {
    console.error(`the server refused the subscription: ${JSON.stringify(put.body)}`);
    console.error(
      `allow this receiver in .dev.vars: PUSH_LOCAL_RECEIVERS=${receiver.origin}, then restart npm start`,
    );
    await receiver.close();
    process.exit(1);
  }
  console.log(`receiving pushes for @${values.handle} on ${receiver.origin} (Ctrl-C to stop)`);
  for (;;) {
    const push = await receiver.next(2 ** 31 - 1);
    const vapid = /^vapid t=[\w-]+\.([\w-]+)\./.exec(push.headers.authorization ?? "")?.[1];
    const claims = vapid ? JSON.parse(Buffer.from(vapid, "base64url").toString("utf8")) : null;
    console.log(
      JSON.stringify({
        at: new Date().toISOString(),
        topic: push.headers.topic,
        vapid: claims,
        payload: push.payload,
        error: push.error ?? undefined,
      }),
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
