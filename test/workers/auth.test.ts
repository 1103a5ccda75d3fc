// Sign-up, login, refresh and logout over the real Worker and D1 (the login limits are in
// test/limits/auth.test.ts); and which access tokens the API accepts (expired, forged,
// tampered, revoked, wrong kind).
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { api, login, signup, type TestUser, uniqueHandle } from "../fixtures/api.ts";
import { expectError } from "./expect-error.ts";

const TEST_SECRET = "test-secret-not-for-production-0123456789";
const nowS = () => Math.floor(Date.now() / 1000);

/** An access token for `user`'s device, signed by us: the claims the Worker issues, or changed. */
function accessToken(
  user: TestUser,
  claims: Record<string, unknown> = {},
  secret = TEST_SECRET,
): Promise<string> {
  return sign(
    { typ: "access", sub: user.id, did: user.deviceId, iat: nowS(), exp: nowS() + 600, ...claims },
    secret,
    "HS256",
  );
}

let addressCounter = 0;
/** A made-up client address, so the per-client login limit of one test never touches another's. */
function freshAddress(): string {
  addressCounter++;
  return `203.0.113.${addressCounter}`;
}

function loginAs(handle: string, password: string, address: string) {
  return api("POST", "/v1/auth/login", {
    body: { handle, password },
    headers: { "cf-connecting-ip": address },
  });
}

describe("sign-up", () => {
  it("creates the account and its first device, and the access token opens the API", async () => {
    const handle = uniqueHandle("signup");
    const res = await api("POST", "/v1/auth/signup", {
      body: {
        handle,
        display_name: "  Ada Lovelace  ",
        password: "correct horse battery",
        device: { name: "laptop", platform: "web" },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      user: { handle, display_name: "Ada Lovelace", deleted: false },
      user_id: res.body.user.id,
      expires_in: 900,
    });
    expect(res.body.refresh_token).toMatch(new RegExp(`^${res.body.device_id}\\.`));

    const me = await api("GET", "/v1/users/me", { token: res.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: res.body.user.id, handle });
    const devices = await api("GET", "/v1/devices", { token: res.body.access_token });
    expect(devices.body.devices).toEqual([
      expect.objectContaining({
        device_id: res.body.device_id,
        name: "laptop",
        platform: "web",
        current: true,
      }),
    ]);
  });

  it("stores the handle in lower case and without surrounding spaces", async () => {
    const handle = uniqueHandle("case");
    const res = await api("POST", "/v1/auth/signup", {
      body: { handle: `  ${handle.toUpperCase()} `, display_name: "Case", password: "correct horse battery" },
    });
    expect(res.status).toBe(201);
    expect(res.body.user.handle).toBe(handle);
  });

  it("refuses a handle that is already taken with 409 handle_taken", async () => {
    const taken = await signup("dup");
    const res = await api("POST", "/v1/auth/signup", {
      body: { handle: taken.handle, display_name: "Someone else", password: "another password" },
    });
    expectError(res, "handle_taken");
  });

  it("treats handles that differ only in letter case as the same handle", async () => {
    const handle = uniqueHandle("alice");
    const first = await api("POST", "/v1/auth/signup", {
      body: {
        handle: handle.replace("alice", "Alice"),
        display_name: "Alice",
        password: "correct horse battery",
      },
    });
    expect(first.status).toBe(201);
    const second = await api("POST", "/v1/auth/signup", {
      body: { handle, display_name: "alice", password: "correct horse battery" },
    });
    expectError(second, "handle_taken");
  });

  it("gives one of two simultaneous sign-ups for the same handle the account and the other 409", async () => {
    const handle = uniqueHandle("race");
    const body = { handle, display_name: "Racer", password: "correct horse battery" };
    const results = await Promise.all([
      api("POST", "/v1/auth/signup", { body }),
      api("POST", "/v1/auth/signup", { body }),
    ]);
    const loser = results.find((r) => r.status !== 201) ?? { status: 0, body: {} };
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expectError(loser, "handle_taken");
  });
});

describe("login", () => {
  it("opens a new device session for the right handle and password", async () => {
    const user = await signup("login");
    const res = await api("POST", "/v1/auth/login", {
      body: {
        handle: user.handle.toUpperCase(),
        password: user.password,
        device: { name: "phone", platform: "ios" },
      },
      headers: { "cf-connecting-ip": freshAddress() },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ user: { id: user.id, handle: user.handle }, user_id: user.id });
    expect(res.body.device_id).not.toBe(user.deviceId);
    const devices = await api("GET", "/v1/devices", { token: res.body.access_token });
    expect(devices.body.devices).toHaveLength(2);
  });

  it("answers an unknown handle and a wrong password with the same 401 invalid_credentials", async () => {
    const user = await signup("creds");
    const wrongPassword = await loginAs(user.handle, "not the password", freshAddress());
    const unknownHandle = await loginAs(uniqueHandle("nobody"), user.password, freshAddress());
    expectError(wrongPassword, "invalid_credentials");
    expectError(unknownHandle, "invalid_credentials");
    expect(unknownHandle.body).toEqual(wrongPassword.body);
  });
});

describe("refresh", () => {
  it("issues a new token pair and the old refresh token stops working after rotation", async () => {
    const user = await signup("refresh");
    const first = await api("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ user_id: user.id, device_id: user.deviceId, expires_in: 900 });
    expect(first.body.refresh_token).not.toBe(user.refreshToken);
    expect((await api("GET", "/v1/users/me", { token: first.body.access_token })).status).toBe(200);

    expectError(
      await api("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } }),
      "unauthenticated",
    );
    const second = await api("POST", "/v1/auth/refresh", {
      body: { refresh_token: first.body.refresh_token },
    });
    expect(second.status).toBe(200);
  });

  it("honours a refresh token once even when it is presented twice at the same moment", async () => {
    const user = await signup("refreshrace");
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        api("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expectError(r, "unauthenticated");
  });

  it("refuses a refresh token whose secret was altered, or that names an unknown device", async () => {
    const user = await signup("refreshbad");
    const [deviceId, secret] = user.refreshToken.split(".") as [string, string];
    const altered = `${deviceId}.${secret.slice(0, -2)}${secret.endsWith("AA") ? "BB" : "AA"}`;
    expectError(
      await api("POST", "/v1/auth/refresh", { body: { refresh_token: altered } }),
      "unauthenticated",
    );
    expectError(
      await api("POST", "/v1/auth/refresh", {
        body: { refresh_token: `01ARZ3NDEKTSV4RRFFQ69G5FAV.${secret}` },
      }),
      "unauthenticated",
    );
    expectError(
      await api("POST", "/v1/auth/refresh", { body: { refresh_token: "no-dot-here" } }),
      "unauthenticated",
    );
  });
});

describe("logout", () => {
  it("ends this device's session (access and refresh) and leaves the user's other devices signed in", async () => {
    const user = await signup("logout");
    const phone = await login(user, "phone");
    const res = await api("POST", "/v1/auth/logout", { token: user.token });
    expect(res.status).toBe(204);
    expectError(await api("GET", "/v1/users/me", { token: user.token }), "unauthenticated");
    expectError(
      await api("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } }),
      "unauthenticated",
    );
    expect((await api("GET", "/v1/users/me", { token: phone.token })).status).toBe(200);
  });
});

describe("access tokens", () => {
  it("accepts a token with the issued claims, signed with the server's secret (the control for the cases below)", async () => {
    const user = await signup("tok");
    const res = await api("GET", "/v1/users/me", { token: await accessToken(user) });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(user.id);
  });

  it("refuses a request without a bearer token with 401 unauthenticated", async () => {
    expectError(await api("GET", "/v1/users/me"), "unauthenticated");
    const user = await signup("tok");
    expectError(
      await api("GET", "/v1/users/me", { headers: { authorization: `Basic ${user.token}` } }),
      "unauthenticated",
    );
    expectError(
      await api("GET", "/v1/users/me", { headers: { authorization: "Bearer" } }),
      "unauthenticated",
    );
    expectError(await api("GET", "/v1/users/me", { token: "not.a.jwt" }), "unauthenticated");
  });

  it("refuses an expired token with 401 token_expired", async () => {
    const user = await signup("tok");
    const expired = await accessToken(user, { iat: nowS() - 3600, exp: nowS() - 60 });
    expectError(await api("GET", "/v1/users/me", { token: expired }), "token_expired");
  });

  it("refuses a token signed with another secret with 401 unauthenticated", async () => {
    const user = await signup("tok");
    const forged = await accessToken(user, {}, "another-secret-that-the-server-does-not-know");
    expectError(await api("GET", "/v1/users/me", { token: forged }), "unauthenticated");
  });

  it("refuses a real token whose claims were edited after signing", async () => {
    const victim = await signup("victim");
    const attacker = await signup("attacker");
    const [header, , signature] = attacker.token.split(".") as [string, string, string];
    const payload = btoa(
      JSON.stringify({ typ: "access", sub: victim.id, did: victim.deviceId, iat: nowS(), exp: nowS() + 600 }),
    )
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    const res = await api("GET", "/v1/users/me", { token: `${header}.${payload}.${signature}` });
    expectError(res, "unauthenticated");
  });

  it("refuses an unsigned token (alg none)", async () => {
    const user = await signup("tok");
    const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "");
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ typ: "access", sub: user.id, did: user.deviceId, exp: nowS() + 600 })}.`;
    expectError(await api("GET", "/v1/users/me", { token: unsigned }), "unauthenticated");
  });

  it("refuses a socket ticket used as an access token", async () => {
    const user = await signup("tok");
    const ticket = await api("POST", "/v1/connect", { token: user.token, body: {} });
    expect(ticket.status).toBe(200);
    expectError(await api("GET", "/v1/users/me", { token: ticket.body.ticket }), "unauthenticated");
  });

  it("refuses a token naming a device of another user", async () => {
    const a = await signup("tok");
    const b = await signup("tok");
    const mixed = await accessToken(a, { did: b.deviceId });
    expectError(await api("GET", "/v1/users/me", { token: mixed }), "unauthenticated");
  });

  it("refuses a revoked device's unexpired token at once", async () => {
    const user = await signup("tok");
    const phone = await login(user, "phone");
    expect((await api("DELETE", `/v1/devices/${phone.deviceId}`, { token: user.token })).status).toBe(204);
    const res = await api("GET", "/v1/users/me", { token: phone.token });
    expectError(res, "unauthenticated");
    expectError(
      await api("POST", "/v1/auth/refresh", { body: { refresh_token: phone.refreshToken } }),
      "unauthenticated",
    );
  });
});
