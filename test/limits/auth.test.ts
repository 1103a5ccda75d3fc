// The limits of signing up and in (docs/protocol.md §3.4, §10): sign-ups per address; failed
// logins per (handle, address), per handle and per address, with no lockout of an account's
// owner by strangers; failed password checks of a signed-in account; devices per user.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signup, type TestUser, testAddress, uniqueHandle } from "../fixtures/api.ts";
import { call, expectRateLimited, rateOf, sleep } from "./helpers.ts";

const login = (
  user: TestUser | { handle: string; password: string },
  password: string,
  address: string,
  extra = {},
) => call("POST", "/v1/auth/login", { body: { handle: user.handle, password, ...extra }, address });

describe("sign-up", () => {
  it("limits sign-ups per client address, creates nothing when refused, and not for other addresses", async () => {
    const rate = rateOf("LIMIT_SIGNUPS_PER_ADDRESS");
    const address = testAddress();
    const body = (handle: string) => ({ handle, display_name: "X", password: "correct horse battery" });
    for (let i = 0; i < rate.burst; i++) {
      expect((await call("POST", "/v1/auth/signup", { body: body(uniqueHandle("s")), address })).status).toBe(
        201,
      );
    }
    const handle = uniqueHandle("refused");
    const wait = expectRateLimited(
      await call("POST", "/v1/auth/signup", { body: body(handle), address }),
      rate,
    );
    // Another address may sign up, and the refused handle was never taken.
    expect(
      (await call("POST", "/v1/auth/signup", { body: body(handle), address: testAddress() })).status,
    ).toBe(201);
    await sleep(wait);
    expect((await call("POST", "/v1/auth/signup", { body: body(uniqueHandle("s")), address })).status).toBe(
      201,
    );
  });
});

describe("login", () => {
  it("refuses a (handle, address) after its failures, whatever case the handle is typed in, until the retry time", async () => {
    const rate = rateOf("LIMIT_LOGIN_FAILURES_PER_HANDLE_ADDRESS");
    const user = await signup("typo");
    const address = testAddress();
    for (let i = 0; i < rate.burst; i++) {
      const typed = i % 2 === 0 ? user.handle.toUpperCase() : ` ${user.handle} `;
      expect((await login({ ...user, handle: typed }, "wrong password", address)).status).toBe(401);
    }
    // Even the right password waits: the password is not checked at all.
    const wait = expectRateLimited(await login(user, user.password, address), rate);
    // Another address is not refused for it.
    expect((await login(user, user.password, testAddress())).status).toBe(200);
    await sleep(wait);
    expect((await login(user, user.password, address)).status).toBe(200);
  });

  it("never counts successes", async () => {
    const user = await signup("often");
    const address = testAddress();
    const most = Math.max(
      rateOf("LIMIT_LOGIN_FAILURES_PER_HANDLE_ADDRESS").burst,
      rateOf("LIMIT_LOGIN_FAILURES_PER_HANDLE").burst,
      rateOf("LIMIT_LOGIN_FAILURES_PER_ADDRESS").burst,
    );
    for (let i = 0; i <= most; i++) {
      const res = await login(user, user.password, address);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      // Signed out again, so the cap on devices does not end the loop.
      await api("POST", "/v1/auth/logout", { token: res.body.access_token });
    }
  });

  it("lets the owner in from an address they used while strangers elsewhere exhaust the handle's failures", async () => {
    const perHandle = rateOf("LIMIT_LOGIN_FAILURES_PER_HANDLE");
    const victim = await signup("victim");
    const home = testAddress();
    const ok = await login(victim, victim.password, home);
    expect(ok.status).toBe(200);
    await api("POST", "/v1/auth/logout", { token: ok.body.access_token });

    // Strangers, each from its own address (so no (handle, address) bucket fills).
    for (let i = 0; i < perHandle.burst; i++) {
      expect((await login(victim, `guess ${i}`, testAddress())).status).toBe(401);
    }
    // Now any address the account never used is refused, even with the right password...
    const wait = expectRateLimited(await login(victim, victim.password, testAddress()), perHandle);
    // ...but the owner, at home, still logs in.
    expect((await login(victim, victim.password, home)).status).toBe(200);
    // And anyone may try again after the retry time.
    await sleep(wait);
    expect((await login(victim, victim.password, testAddress())).status).toBe(200);
  });

  it("refuses an address guessing many handles, but not the owner of an account it logged in to", async () => {
    const perAddress = rateOf("LIMIT_LOGIN_FAILURES_PER_ADDRESS");
    const shared = testAddress(); // say, a campus behind one address
    const owner = await signup("campus");
    const ok = await login(owner, owner.password, shared);
    expect(ok.status).toBe(200);
    await api("POST", "/v1/auth/logout", { token: ok.body.access_token });
    for (let i = 0; i < perAddress.burst; i++) {
      expect((await login({ handle: uniqueHandle("nobody"), password: "" }, "guess", shared)).status).toBe(
        401,
      );
    }
    const someone = await signup("newcomer");
    const wait = expectRateLimited(await login(someone, someone.password, shared), perAddress);
    expect((await login(owner, owner.password, shared)).status).toBe(200);
    await sleep(wait);
    expect((await login(someone, someone.password, shared)).status).toBe(200);
  });
});

describe("password checks of a signed-in account", () => {
  it("refuses after the account's failed checks, even with the right password, until the retry time", async () => {
    const rate = rateOf("LIMIT_PASSWORD_FAILURES_PER_USER");
    const user = await signup("changer");
    const change = (current: string) =>
      call("POST", "/v1/account/password", {
        token: user.token,
        body: { current_password: current, new_password: "a brand new password" },
      });
    for (let i = 0; i < rate.burst; i++) expect((await change(`wrong ${i}`)).status).toBe(401);
    const wait = expectRateLimited(await change(user.password), rate);
    await sleep(wait);
    // The writes budget has refilled too by now.
    await sleep(Math.max(0, rateOf("LIMIT_WRITES_PER_USER").periodMs - wait));
    expect((await change(user.password)).status).toBe(200);
  });
});

describe("devices per user", () => {
  it("refuses a login past the cap with the device list, and signs one out to let the new one in", async () => {
    const cap = Number(env.LIMIT_DEVICES_PER_USER);
    const user = await signup("devices"); // the first device
    const address = testAddress();
    const sessions = [user.token];
    for (let i = 1; i < cap; i++) {
      const res = await login(user, user.password, address, { device: { name: `d${i}`, platform: "test" } });
      expect(res.status).toBe(200);
      sessions.push(res.body.access_token);
    }
    const refused = await login(user, user.password, address, {
      device: { name: "one too many", platform: "test" },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "too_many_devices", details: { max_devices: cap } });
    expect(refused.body.error.message).toContain(String(cap));
    const listed = refused.body.error.details.devices as { device_id: string; name: string }[];
    expect(listed).toHaveLength(cap);
    expect(listed.map((d) => d.device_id)).toContain(user.deviceId);

    // A wrong password never reveals the list.
    const wrong = await login(user, "not it", testAddress(), { device: { name: "x", platform: "test" } });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(user.deviceId);

    const replaced = await login(user, user.password, address, {
      device: { name: "new phone", platform: "test" },
      replace_device_id: user.deviceId,
    });
    expect(replaced.status).toBe(200);
    expect((await api("GET", "/v1/users/me", { token: user.token })).status).toBe(401);
    const devices = await api("GET", "/v1/devices", { token: replaced.body.access_token });
    const live = (devices.body.devices as { revoked_at: number | null }[]).filter(
      (d) => d.revoked_at === null,
    );
    expect(live).toHaveLength(cap);
  });
});
