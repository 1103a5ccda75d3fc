// Authenticated requests ask the user's Durable Object, not D1, whether the device is still
// signed in (issue #21: one D1 database cannot answer every request of 50 million daily users,
// docs/capacity.md). The Worker is called with its D1 binding wrapped in a counter; the user
// object keeps its own binding, and reads D1 once per device, the first time it hears of it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { issueAccessToken } from "../../domain/tokens.ts";
import { app } from "../../workers/app.ts";
import { api, login, signup, type TestUser } from "../fixtures/api.ts";
import { expectError } from "./expect-error.ts";

/** An access token signed with the test Worker's secret, for any user and device. */
const accessToken = (userId: string, deviceId: string) => issueAccessToken(env.AUTH_SECRET, userId, deviceId);

/** The Worker with a D1 binding that counts every statement prepared or batched through it. */
function countingWorker() {
  const counter = { queries: 0 };
  const DB = new Proxy(env.DB, {
    get(target, key) {
      if (key === "prepare" || key === "batch" || key === "exec") counter.queries++;
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const call = async (method: string, path: string, user: TestUser, body?: unknown) => {
    const res = await app.request(
      `http://chat.test${path}`,
      {
        method,
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      { ...env, DB },
      ctx,
    );
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  };
  return { counter, call };
}

describe("authenticated requests without D1", () => {
  it("issues a user-socket ticket with no D1 query in the Worker", async () => {
    const user = await signup("nod1");
    const w = countingWorker();
    const res = await w.call("POST", "/v1/connect", user, {});
    expect(res.status).toBe(200);
    expect(w.counter.queries).toBe(0);
  });

  it("lists a user's conversations with no D1 query in the Worker", async () => {
    const user = await signup("nod1");
    const w = countingWorker();
    const res = await w.call("GET", "/v1/channels", user);
    expect(res.status).toBe(200);
    expect(res.body.channels).toEqual([]);
    expect(w.counter.queries).toBe(0);
  });

  it("refuses a token naming another user's device, though it is signed", async () => {
    const a = await signup("nod1");
    const b = await signup("nod1");
    // b's device is known to b's object; a's object has never seen it, and D1 says it is not a's.
    expect((await api("GET", "/v1/channels", { token: b.token })).status).toBe(200);
    const forged = { ...a, deviceId: b.deviceId, token: await accessToken(a.id, b.deviceId) };
    const w = countingWorker();
    expectError(await w.call("GET", "/v1/channels", forged), "unauthenticated");
    expectError(await w.call("POST", "/v1/connect", forged, {}), "unauthenticated");
  });

  it("refuses a signed-out device's unexpired token at once, on a ticket and on any route", async () => {
    const user = await signup("nod1");
    const phone = await login(user, "phone");
    const w = countingWorker();
    // The phone is known to its user object (and so no longer looked up in D1) before its sign-out.
    expect((await w.call("POST", "/v1/connect", phone, {})).status).toBe(200);
    expect((await api("DELETE", `/v1/devices/${phone.deviceId}`, { token: user.token })).status).toBe(204);
    expectError(await w.call("POST", "/v1/connect", phone, {}), "unauthenticated");
    expectError(await api("GET", "/v1/users/me", { token: phone.token }), "unauthenticated");
    expect((await w.call("POST", "/v1/connect", user, {})).status).toBe(200);
  });
});
