// My profile (GET/PATCH /v1/users/me) and looking other users up by handle or id.
import { describe, expect, it } from "vitest";
import { api, signup } from "../fixtures/api.ts";
import { expectError } from "./expect-error.ts";

const UNKNOWN_ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

describe("GET /v1/users/me", () => {
  it("returns my profile with my private settings", async () => {
    const user = await signup("me");
    const res = await api("GET", "/v1/users/me", { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: user.id,
      handle: user.handle,
      display_name: user.handle.toUpperCase(),
      deleted: false,
      invisible: false,
      hide_previews: false,
      created_at: expect.any(Number),
    });
  });
});

describe("PATCH /v1/users/me", () => {
  it("changes only the fields sent, and others see the new display name", async () => {
    const user = await signup("patch");
    const other = await signup("viewer");
    const res = await api("PATCH", "/v1/users/me", {
      token: user.token,
      body: { display_name: "  New Name ", invisible: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ display_name: "New Name", invisible: true, hide_previews: false });

    const again = await api("PATCH", "/v1/users/me", { token: user.token, body: { hide_previews: true } });
    expect(again.body).toMatchObject({ display_name: "New Name", invisible: true, hide_previews: true });
    const seen = await api("GET", `/v1/users/${user.id}`, { token: other.token });
    expect(seen.body.display_name).toBe("New Name");
  });

  it("refuses an empty patch and a blank display name", async () => {
    const user = await signup("patch");
    expectError(await api("PATCH", "/v1/users/me", { token: user.token, body: {} }), "validation_failed");
    expectError(
      await api("PATCH", "/v1/users/me", { token: user.token, body: { display_name: "   " } }),
      "validation_failed",
    );
    expect((await api("GET", "/v1/users/me", { token: user.token })).body.display_name).toBe(
      user.handle.toUpperCase(),
    );
  });
});

describe("GET /v1/users/by-handle/:handle", () => {
  it("finds a user by handle in any letter case and shows public fields only", async () => {
    const target = await signup("findme");
    const searcher = await signup("searcher");
    const res = await api("GET", `/v1/users/by-handle/${target.handle.toUpperCase()}`, {
      token: searcher.token,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: target.id,
      handle: target.handle,
      display_name: target.handle.toUpperCase(),
      deleted: false,
    });
  });

  it("answers 404 not_found for a handle nobody has, or one that cannot be a handle", async () => {
    const searcher = await signup("searcher");
    expectError(
      await api("GET", "/v1/users/by-handle/nobody_has_this_handle", { token: searcher.token }),
      "not_found",
    );
    expectError(await api("GET", "/v1/users/by-handle/x", { token: searcher.token }), "not_found");
    expectError(
      await api("GET", "/v1/users/by-handle/%E2%9C%93%20%27", { token: searcher.token }),
      "not_found",
    );
  });
});

describe("GET /v1/users/:id", () => {
  it("shows another user's public fields only, never their settings", async () => {
    const target = await signup("target");
    await api("PATCH", "/v1/users/me", { token: target.token, body: { invisible: true } });
    const viewer = await signup("viewer");
    const res = await api("GET", `/v1/users/${target.id}`, { token: viewer.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: target.id,
      handle: target.handle,
      display_name: target.handle.toUpperCase(),
      deleted: false,
    });
  });

  it("answers 404 not_found for an unknown id and for a string that is not an id", async () => {
    const viewer = await signup("viewer");
    expectError(await api("GET", `/v1/users/${UNKNOWN_ULID}`, { token: viewer.token }), "not_found");
    expectError(await api("GET", "/v1/users/not-an-id", { token: viewer.token }), "not_found");
  });
});
