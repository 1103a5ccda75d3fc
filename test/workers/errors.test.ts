// The API's refusals as a whole: every endpoint with a body refuses each kind of malformed
// body with 400 validation_failed (and changes nothing), every authenticated endpoint refuses
// a missing, expired, forged or revoked token with 401 and no data, and every error has the
// one envelope `{ error: { code, message } }` with no stack trace.
import { sign } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import type { ChannelInfo } from "../../protocol/api.ts";
import { api, createGroup, login, openDm, signup, type TestUser, uniqueHandle } from "../fixtures/api.ts";
import { expectError } from "./expect-error.ts";

const TEST_SECRET = "test-secret-not-for-production-0123456789";

let owner: TestUser;
let friend: TestUser;
let doomed: TestUser;
let group: ChannelInfo;
let dm: ChannelInfo;

beforeAll(async () => {
  owner = await signup("owner");
  friend = await signup("friend");
  doomed = await signup("doomed");
  group = await createGroup(owner, [friend], "errors");
  dm = await openDm(owner, friend);
});

interface BodyEndpoint {
  method: string;
  path: () => string;
  token: () => string | undefined;
  /** A well-formed body; it is sent last, and must then not be a validation failure. */
  valid: () => Record<string, unknown>;
  /** Well-formed JSON that breaks this endpoint's own rules, by what is wrong with it. */
  invalid?: () => Record<string, unknown>;
  /** The schema accepts no body at all (POST /v1/connect). */
  bodyOptional?: boolean;
}

const signupHandle = uniqueHandle("valid");

const endpoints: Record<string, BodyEndpoint> = {
  "POST /v1/auth/signup": {
    method: "POST",
    path: () => "/v1/auth/signup",
    token: () => undefined,
    // The same handle every time: the final 201 shows that no malformed attempt created it.
    valid: () => ({ handle: signupHandle, display_name: "Valid", password: "correct horse battery" }),
    invalid: () => ({
      "a handle with spaces": {
        handle: "not a handle",
        display_name: "x",
        password: "correct horse battery",
      },
      "a two-letter handle": { handle: "ab", display_name: "x", password: "correct horse battery" },
      "a 7-character password": { handle: uniqueHandle("pw"), display_name: "x", password: "1234567" },
      "a blank display name": {
        handle: uniqueHandle("dn"),
        display_name: "   ",
        password: "correct horse battery",
      },
      "an unknown device field": {
        handle: uniqueHandle("dv"),
        display_name: "x",
        password: "correct horse battery",
        device: { os: "x" },
      },
    }),
  },
  "POST /v1/auth/login": {
    method: "POST",
    path: () => "/v1/auth/login",
    token: () => undefined,
    valid: () => ({ handle: owner.handle, password: owner.password }),
    invalid: () => ({ "a 300-character password": { handle: owner.handle, password: "x".repeat(300) } }),
  },
  "POST /v1/auth/refresh": {
    method: "POST",
    path: () => "/v1/auth/refresh",
    token: () => undefined,
    valid: () => ({ refresh_token: doomed.refreshToken }),
    invalid: () => ({ "an empty token": { refresh_token: "" } }),
  },
  "PATCH /v1/users/me": {
    method: "PATCH",
    path: () => "/v1/users/me",
    token: () => owner.token,
    valid: () => ({ display_name: "Owner" }),
    invalid: () => ({ "a 65-character display name": { display_name: "x".repeat(65) } }),
  },
  "POST /v1/friends/requests": {
    method: "POST",
    path: () => "/v1/friends/requests",
    token: () => owner.token,
    valid: () => ({ user_id: friend.id }),
    invalid: () => ({ "a user id that is not a ULID": { user_id: "alice" } }),
  },
  "POST /v1/groups": {
    method: "POST",
    path: () => "/v1/groups",
    token: () => owner.token,
    valid: () => ({ name: "valid group", member_ids: [friend.id] }),
    invalid: () => ({
      "101 member ids": { name: "big", member_ids: Array.from({ length: 101 }, () => friend.id) },
      "a member id that is not a ULID": { name: "g", member_ids: ["bob"] },
    }),
  },
  "PATCH /v1/groups/:id": {
    method: "PATCH",
    path: () => `/v1/groups/${group.channel_id}`,
    token: () => owner.token,
    valid: () => ({ name: "renamed" }),
    invalid: () => ({ "a 101-character name": { name: "x".repeat(101) } }),
  },
  "POST /v1/groups/:id/members": {
    method: "POST",
    path: () => `/v1/groups/${group.channel_id}/members`,
    token: () => owner.token,
    valid: () => ({ user_ids: [friend.id] }),
    invalid: () => ({ "an empty list": { user_ids: [] } }),
  },
  "POST /v1/channels/dm": {
    method: "POST",
    path: () => "/v1/channels/dm",
    token: () => owner.token,
    valid: () => ({ user_id: friend.id }),
  },
  "POST /v1/channels/:id/messages": {
    method: "POST",
    path: () => `/v1/channels/${dm.channel_id}/messages`,
    token: () => owner.token,
    valid: () => ({ client_msg_id: "valid-1", text: "hello" }),
    invalid: () => ({ "an empty client_msg_id": { client_msg_id: "", text: "hello" } }),
  },
  "POST /v1/channels/:id/read": {
    method: "POST",
    path: () => `/v1/channels/${dm.channel_id}/read`,
    token: () => owner.token,
    valid: () => ({ seq: 0 }),
    invalid: () => ({ "a negative seq": { seq: -1 }, "a fractional seq": { seq: 1.5 } }),
  },
  "POST /v1/connect": {
    method: "POST",
    path: () => "/v1/connect",
    token: () => owner.token,
    valid: () => ({ channel_id: dm.channel_id }),
    invalid: () => ({ "a channel id of the wrong shape": { channel_id: "general" } }),
    bodyOptional: true,
  },
  "POST /v1/account/password": {
    method: "POST",
    path: () => "/v1/account/password",
    token: () => owner.token,
    valid: () => ({ current_password: owner.password, new_password: owner.password }),
    invalid: () => ({
      "a 7-character new password": { current_password: owner.password, new_password: "1234567" },
    }),
  },
  "DELETE /v1/account": {
    method: "DELETE",
    path: () => "/v1/account",
    token: () => doomed.token,
    valid: () => ({ password: doomed.password }),
  },
};

/** A value of another JSON type than `value`. */
function wrongType(value: unknown): unknown {
  if (typeof value === "string") return 12345;
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return "not a list";
  return ["not", "an", "object"];
}

/** The malformed requests every body endpoint gets: `body` is JSON, `raw` is sent as is. */
function malformedRequests(e: BodyEndpoint): [string, { body?: unknown; raw?: string }][] {
  const valid = e.valid();
  const [first = "", firstValue] = Object.entries(valid)[0] ?? [];
  const { [first]: _dropped, ...withoutFirst } = valid;
  const cases: [string, { body?: unknown; raw?: string }][] = [
    [`"${first}" of the wrong type`, { body: { ...valid, [first]: wrongType(firstValue) } }],
    ["an extra unknown field", { body: { ...valid, is_admin: true } }],
    ["an array instead of an object", { raw: "[]" }],
    ["JSON null", { raw: "null" }],
    ["a JSON string", { raw: '"hello"' }],
    ["invalid JSON", { raw: '{"oops": ' }],
    ["a body that is not JSON at all", { raw: "handle=alice&password=x" }],
  ];
  if (!e.bodyOptional) {
    cases.push(
      [`"${first}" missing`, { body: withoutFirst }],
      ["an empty object", { body: {} }],
      ["an empty body", { raw: "" }],
      ["no body at all", {}],
    );
  }
  for (const [what, body] of Object.entries(e.invalid?.() ?? {})) cases.push([what, { body }]);
  return cases;
}

describe("malformed bodies", () => {
  it.each(Object.entries(endpoints))(
    "%s refuses each malformed body with 400 validation_failed, then accepts a well-formed one",
    async (name, e) => {
      for (const [what, req] of malformedRequests(e)) {
        const res = await api(e.method, e.path(), { token: e.token(), ...req });
        expectError(res, "validation_failed", `${name} with ${what}:`);
      }
      const ok = await api(e.method, e.path(), { token: e.token(), body: e.valid() });
      expect(ok.status, `${name} with the valid body: ${JSON.stringify(ok.body)}`).toBeLessThan(300);
    },
  );

  it("says which field is wrong", async () => {
    const res = await api("POST", "/v1/auth/signup", {
      body: { handle: uniqueHandle("f"), display_name: "x", password: 12345678 },
    });
    expectError(res, "validation_failed");
    expect(res.body.error.details).toEqual([{ path: "password", message: expect.any(String) }]);
  });

  it("refuses a malformed history query with 400 validation_failed", async () => {
    const base = `/v1/channels/${dm.channel_id}/messages`;
    for (const query of [
      "limit=0",
      "limit=201",
      "limit=ten",
      "before=0",
      "after=-1",
      "before=5&after=1",
      "cursor=abc",
    ]) {
      expectError(await api("GET", `${base}?${query}`, { token: owner.token }), "validation_failed", query);
    }
    expect((await api("GET", `${base}?limit=10`, { token: owner.token })).status).toBe(200);
  });
});

describe("tokens on every authenticated endpoint", () => {
  const routes: [string, string, (() => unknown)?][] = [
    ["POST", "/v1/auth/logout"],
    ["GET", "/v1/users/me"],
    ["PATCH", "/v1/users/me", () => ({ display_name: "hijacked" })],
    ["GET", "/v1/users/by-handle/:handle"],
    ["GET", "/v1/users/:friend"],
    ["GET", "/v1/friends"],
    ["POST", "/v1/friends/requests", () => ({ user_id: friend.id })],
    ["POST", "/v1/friends/:friend/accept"],
    ["POST", "/v1/friends/:friend/decline"],
    ["DELETE", "/v1/friends/:friend"],
    ["POST", "/v1/friends/:friend/block"],
    ["DELETE", "/v1/friends/:friend/block"],
    ["GET", "/v1/groups"],
    ["POST", "/v1/groups", () => ({ name: "g" })],
    ["GET", "/v1/groups/:group"],
    ["PATCH", "/v1/groups/:group", () => ({ name: "hijacked" })],
    ["POST", "/v1/groups/:group/members", () => ({ user_ids: [friend.id] })],
    ["DELETE", "/v1/groups/:group/members/:friend"],
    ["POST", "/v1/groups/:group/leave"],
    ["GET", "/v1/channels"],
    ["POST", "/v1/channels/dm", () => ({ user_id: friend.id })],
    ["GET", "/v1/channels/:dm"],
    ["GET", "/v1/channels/:dm/messages"],
    ["POST", "/v1/channels/:dm/messages", () => ({ client_msg_id: "intruder", text: "hi" })],
    ["POST", "/v1/channels/:dm/read", () => ({ seq: 0 })],
    ["GET", "/v1/devices"],
    ["DELETE", "/v1/devices/:device"],
    ["POST", "/v1/devices/sign-out-all"],
    [
      "POST",
      "/v1/account/password",
      () => ({ current_password: owner.password, new_password: "taken over!" }),
    ],
    ["DELETE", "/v1/account", () => ({ password: owner.password })],
    ["POST", "/v1/connect", () => ({})],
  ];

  // The owner's own, once-valid credentials in every shape the API must refuse.
  let badTokens: [string, string | undefined, "unauthenticated" | "token_expired"][];

  beforeAll(async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { typ: "access", sub: owner.id, did: owner.deviceId };
    const revoked = await login(owner, "revoked");
    expect((await api("DELETE", `/v1/devices/${revoked.deviceId}`, { token: owner.token })).status).toBe(204);
    badTokens = [
      ["no token", undefined, "unauthenticated"],
      [
        "an expired token",
        await sign({ ...claims, iat: now - 3600, exp: now - 60 }, TEST_SECRET, "HS256"),
        "token_expired",
      ],
      [
        "a token signed with another secret",
        await sign({ ...claims, iat: now, exp: now + 600 }, "not-the-server-secret", "HS256"),
        "unauthenticated",
      ],
      ["a revoked device's token", revoked.token, "unauthenticated"],
    ];
  });

  function resolve(path: string): string {
    return path
      .replace(":handle", friend.handle)
      .replace(":friend", friend.id)
      .replace(":group", group.channel_id)
      .replace(":dm", dm.channel_id)
      .replace(":device", owner.deviceId);
  }

  it.each(routes)(
    "%s %s refuses a missing, expired, forged or revoked token with 401 and no data",
    async (method, path, body) => {
      for (const [what, token, code] of badTokens) {
        const res = await api(method, resolve(path), { token, body: body?.() });
        expectError(res, code, `${method} ${path} with ${what}:`);
      }
    },
  );

  it("none of those refused requests changed anything", async () => {
    expect((await api("GET", "/v1/users/me", { token: owner.token })).status).toBe(200);
    const g = await api<ChannelInfo>("GET", `/v1/groups/${group.channel_id}`, { token: owner.token });
    expect(g.body.members.map((m) => m.user_id).sort()).toEqual([owner.id, friend.id].sort());
    const history = await api<{ messages: { client_msg_id: string }[] }>(
      "GET",
      `/v1/channels/${dm.channel_id}/messages`,
      { token: friend.token },
    );
    expect(history.body.messages.map((m) => m.client_msg_id)).not.toContain("intruder");
    const friends = await api("GET", "/v1/friends", { token: friend.token });
    expect(friends.body.friends).toEqual([expect.objectContaining({ state: "friends" })]);
  });
});

describe("the error envelope", () => {
  it("answers an unknown endpoint or method with 404 not_found in the same envelope", async () => {
    expectError(await api("GET", "/v1/nothing-here"), "not_found");
    expectError(await api("PUT", "/v1/users/me", { token: owner.token, body: {} }), "not_found");
  });
});
