// The per-user and per-channel limits of the REST API (docs/protocol.md §10): at the N+1st
// request in a burst, 429 `rate_limited` with `Retry-After` and `retry_after_ms`, nothing
// done; after the retry time, the same request goes through.
import { describe, expect, it } from "vitest";
import { api, befriend, createGroup, groupOfTwo, signup, type TestUser } from "../fixtures/api.ts";
import { call, expectRateLimited, type RawResponse, rateOf, sleep } from "./helpers.ts";

/**
 * Makes `burst` requests (each must pass), then one more (refused); waits out its retry time
 * and makes one more (must pass). Returns the refusal.
 */
async function atTheLimit(
  setting: keyof Env,
  request: (i: number) => Promise<RawResponse>,
): Promise<{ refused: RawResponse; after: RawResponse }> {
  const rate = rateOf(setting);
  for (let i = 0; i < rate.burst; i++) {
    const res = await request(i);
    expect(res.status, `request ${i + 1}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  }
  const refused = await request(rate.burst);
  const wait = expectRateLimited(refused, rate);
  await sleep(wait);
  const after = await request(rate.burst + 1);
  expect(after.status, JSON.stringify(after.body)).toBeLessThan(300);
  return { refused, after };
}

describe("per-user limits", () => {
  it("limits socket tickets (POST /v1/connect)", async () => {
    const a = await signup("connects");
    await atTheLimit("LIMIT_CONNECTS_PER_USER", () =>
      call("POST", "/v1/connect", { token: a.token, body: {} }),
    );
  });

  it("limits friend requests, and a refused one reaches nobody", async () => {
    const a = await signup("asker");
    const rate = rateOf("LIMIT_FRIEND_REQUESTS_PER_USER");
    const others: TestUser[] = [];
    for (let i = 0; i < rate.burst + 2; i++) others.push(await signup(`target${i}`));
    const { refused } = await atTheLimit("LIMIT_FRIEND_REQUESTS_PER_USER", (i) =>
      call("POST", "/v1/friends/requests", { token: a.token, body: { user_id: others[i]!.id } }),
    );
    expect(refused.body.error.message).toMatch(/friend requests/);
    const theirs = await api("GET", "/v1/friends", { token: others[rate.burst]!.token });
    expect(theirs.body.friends).toEqual([]);
  });

  it("limits group creation, and a refused group does not exist", async () => {
    const a = await signup("creator");
    const rate = rateOf("LIMIT_GROUP_CREATES_PER_USER");
    await atTheLimit("LIMIT_GROUP_CREATES_PER_USER", (i) =>
      call("POST", "/v1/groups", { token: a.token, body: { name: `g${i}`, member_ids: [] } }),
    );
    const mine = await api("GET", "/v1/groups", { token: a.token });
    expect((mine.body.groups as { name: string }[]).map((g) => g.name).sort()).toEqual(
      [...Array.from({ length: rate.burst }, (_, i) => `g${i}`), `g${rate.burst + 1}`].sort(),
    );
  });

  it("limits reads of a group's presence (each wakes every member's object)", async () => {
    const { a, group } = await groupOfTwo();
    await atTheLimit("LIMIT_PRESENCE_READS_PER_USER", () =>
      call("GET", `/v1/groups/${group.channel_id}/presence`, { token: a.token }),
    );
  });

  it("limits push subscription changes", async () => {
    const a = await signup("pusher");
    await atTheLimit("LIMIT_PUSH_CHANGES_PER_USER", () =>
      call("DELETE", "/v1/push/subscription", { token: a.token }),
    );
  });

  it("limits other writes, such as profile changes, and a refused one changes nothing", async () => {
    const a = await signup("writer");
    const rate = rateOf("LIMIT_WRITES_PER_USER");
    const name = (i: number) => `Name ${i}`;
    const { refused } = await atTheLimit("LIMIT_WRITES_PER_USER", (i) =>
      call("PATCH", "/v1/users/me", { token: a.token, body: { display_name: name(i) } }),
    );
    expect(refused.status).toBe(429);
    // The refused change (name(burst)) never happened; the one after the wait did.
    const me = await api("GET", "/v1/users/me", { token: a.token });
    expect(me.body.display_name).toBe(name(rate.burst + 1));
  });
});

describe("per-channel limits", () => {
  it("limits history pages per member, and another member is not slowed", async () => {
    const { a, b, group } = await groupOfTwo();
    const path = `/v1/channels/${group.channel_id}/messages`;
    const rate = rateOf("LIMIT_HISTORY_PER_USER");
    for (let i = 0; i < rate.burst; i++)
      expect((await call("GET", path, { token: a.token })).status).toBe(200);
    const wait = expectRateLimited(await call("GET", path, { token: a.token }), rate);
    expect((await call("GET", path, { token: b.token })).status).toBe(200);
    await sleep(wait);
    expect((await call("GET", path, { token: a.token })).status).toBe(200);
  });

  it("limits renames and membership changes of a group, and a refused rename changes nothing", async () => {
    const a = await signup("owner");
    const b = await signup("member");
    const group = await createGroup(a, [b]);
    const rate = rateOf("LIMIT_MEMBER_CHANGES_PER_CHANNEL");
    const path = `/v1/groups/${group.channel_id}`;
    for (let i = 0; i < rate.burst; i++) {
      expect((await call("PATCH", path, { token: a.token, body: { name: `n${i}` } })).status).toBe(200);
    }
    const wait = expectRateLimited(
      await call("PATCH", path, { token: a.token, body: { name: "refused" } }),
      rate,
    );
    // Leaving is a membership change of the group too.
    expectRateLimited(await call("POST", `${path}/leave`, { token: b.token }), rate);
    expect((await api("GET", path, { token: a.token })).body).toMatchObject({
      name: `n${rate.burst - 1}`,
      members: [{ user_id: a.id }, { user_id: b.id }],
    });
    await sleep(wait);
    expect((await call("POST", `${path}/leave`, { token: b.token })).status).toBe(204);
  });

  it("limits read markers moved over REST, and a refused one does not move", async () => {
    const { a, b, group } = await groupOfTwo();
    for (let i = 1; i <= 2; i++)
      await api("POST", `/v1/channels/${group.channel_id}/messages`, {
        token: b.token,
        body: { client_msg_id: `m${i}`, text: `m${i}` },
      });
    const rate = rateOf("LIMIT_MARKERS_PER_SOCKET");
    const path = `/v1/channels/${group.channel_id}/read`;
    for (let i = 0; i < rate.burst; i++)
      expect((await call("POST", path, { token: a.token, body: { seq: 1 } })).status).toBe(200);
    const wait = expectRateLimited(await call("POST", path, { token: a.token, body: { seq: 2 } }), rate);
    const receipts = await api("GET", `/v1/channels/${group.channel_id}/receipts`, { token: a.token });
    expect(receipts.body.members.find((m: { user_id: string }) => m.user_id === a.id).read_seq).toBe(1);
    await sleep(wait);
    expect((await call("POST", path, { token: a.token, body: { seq: 2 } })).body).toMatchObject({
      read_seq: 2,
    });
  });

  it("does not let friends be refused for another user's requests", async () => {
    // The limits are per user: one user at the limit does not slow a friend.
    const a = await signup("busy");
    const b = await signup("calm");
    await befriend(a, b);
    const rate = rateOf("LIMIT_WRITES_PER_USER");
    for (let i = 0; i <= rate.burst; i++)
      await call("PATCH", "/v1/users/me", { token: a.token, body: { invisible: false } });
    expect((await call("PATCH", "/v1/users/me", { token: b.token, body: { invisible: false } })).status).toBe(
      200,
    );
  });
});
