// Groups over REST: create, read, rename, add and remove members, leave, list mine, hand
// ownership on; who may do each; the consent rule; and the 100-member limit.
import { beforeAll, describe, expect, it } from "vitest";
import type { ChannelInfo } from "../../protocol/api.ts";
import { api, befriend, createGroup, signup, signupMany, type TestUser } from "../fixtures/api.ts";
import { expectError } from "./expect-error.ts";

function memberIds(info: ChannelInfo): string[] {
  return info.members.map((m) => m.user_id).sort();
}

async function readGroup(user: TestUser, groupId: string) {
  return api<ChannelInfo>("GET", `/v1/groups/${groupId}`, { token: user.token });
}

async function myGroupIds(user: TestUser): Promise<string[]> {
  const res = await api<{ groups: ChannelInfo[] }>("GET", "/v1/groups", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.groups.map((g) => g.channel_id);
}

describe("creating and reading a group", () => {
  it("creates a group with me as owner and my friends as members", async () => {
    const owner = await signup("owner");
    const [b, c] = [await signup("b"), await signup("c")];
    await befriend(owner, b);
    await befriend(owner, c);
    const res = await api<ChannelInfo>("POST", "/v1/groups", {
      token: owner.token,
      body: { name: "  Book club ", member_ids: [b.id, c.id, b.id, owner.id] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ kind: "group", name: "Book club", owner_id: owner.id, head_seq: 0 });
    expect(res.body.channel_id).toMatch(/^gr_/);
    expect(res.body.members.map((m) => [m.user_id, m.role]).sort()).toEqual(
      [
        [owner.id, "owner"],
        [b.id, "member"],
        [c.id, "member"],
      ].sort(),
    );
  });

  it("creates a group of one when no members are given", async () => {
    const owner = await signup("owner");
    const res = await api<ChannelInfo>("POST", "/v1/groups", {
      token: owner.token,
      body: { name: "Notes to self" },
    });
    expect(res.status).toBe(201);
    expect(memberIds(res.body)).toEqual([owner.id]);
  });

  it("lets every member read the group", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const group = await createGroup(owner, [b], "readable");
    const res = await readGroup(b, group.channel_id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(group);
  });

  it("refuses a non-member with 403 not_a_member and shows nothing of the group", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const outsider = await signup("outsider");
    const group = await createGroup(owner, [b], "private");
    expectError(await readGroup(outsider, group.channel_id), "not_a_member");
  });

  it("answers a group that does not exist exactly like one I am not in", async () => {
    const user = await signup("prober");
    expectError(await readGroup(user, "gr_01ARZ3NDEKTSV4RRFFQ69G5FAV"), "not_a_member");
    expectError(await readGroup(user, "not-a-group"), "not_found");
  });

  it("lists only the groups I am a member of", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const c = await signup("c");
    const g1 = await createGroup(owner, [b], "with b");
    const g2 = await createGroup(owner, [c], "with c");
    expect((await myGroupIds(owner)).sort()).toEqual([g1.channel_id, g2.channel_id].sort());
    expect(await myGroupIds(b)).toEqual([g1.channel_id]);
    expect(await myGroupIds(await signup("nobody"))).toEqual([]);
  });
});

describe("renaming", () => {
  it("the owner renames the group and every member sees the new name", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const group = await createGroup(owner, [b], "old name");
    const res = await api<ChannelInfo>("PATCH", `/v1/groups/${group.channel_id}`, {
      token: owner.token,
      body: { name: "new name" },
    });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe("new name");
    expect((await readGroup(b, group.channel_id)).body.name).toBe("new name");
  });

  it("a plain member cannot rename (403 forbidden), nor can a non-member (403 not_a_member)", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const outsider = await signup("outsider");
    const group = await createGroup(owner, [b], "keep");
    const path = `/v1/groups/${group.channel_id}`;
    expectError(await api("PATCH", path, { token: b.token, body: { name: "mine now" } }), "forbidden");
    expectError(
      await api("PATCH", path, { token: outsider.token, body: { name: "mine now" } }),
      "not_a_member",
    );
    expect((await readGroup(owner, group.channel_id)).body.name).toBe("keep");
  });
});

describe("adding members", () => {
  it("the owner adds a friend, who can then read the group and finds it in their list", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const newcomer = await signup("newcomer");
    const group = await createGroup(owner, [b], "growing");
    await befriend(owner, newcomer);
    const res = await api<ChannelInfo>("POST", `/v1/groups/${group.channel_id}/members`, {
      token: owner.token,
      body: { user_ids: [newcomer.id] },
    });
    expect(res.status).toBe(200);
    expect(memberIds(res.body)).toEqual([owner.id, b.id, newcomer.id].sort());
    expect((await readGroup(newcomer, group.channel_id)).status).toBe(200);
    expect(await myGroupIds(newcomer)).toEqual([group.channel_id]);
  });

  it("refuses to add someone who is not my friend (403 not_friends, naming them) and changes nothing", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const stranger = await signup("stranger");
    const group = await createGroup(owner, [b], "consent");
    const res = await api("POST", `/v1/groups/${group.channel_id}/members`, {
      token: owner.token,
      body: { user_ids: [stranger.id] },
    });
    expectError(res, "not_friends");
    expect(res.body.error.details).toEqual({ user_ids: [stranger.id] });
    expect(memberIds((await readGroup(owner, group.channel_id)).body)).toEqual([owner.id, b.id].sort());
  });

  it("refuses to create a group with someone who is not my friend, or with a pending request only", async () => {
    const owner = await signup("owner");
    const friend = await signup("friend");
    const pending = await signup("pending");
    await befriend(owner, friend);
    await api("POST", "/v1/friends/requests", { token: owner.token, body: { user_id: pending.id } });
    const res = await api("POST", "/v1/groups", {
      token: owner.token,
      body: { name: "g", member_ids: [friend.id, pending.id] },
    });
    expectError(res, "not_friends");
    expect(await myGroupIds(friend)).toEqual([]);
  });

  it("a plain member cannot add members (403 forbidden)", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const bFriend = await signup("bfriend");
    const group = await createGroup(owner, [b], "owner adds");
    await befriend(b, bFriend);
    const res = await api("POST", `/v1/groups/${group.channel_id}/members`, {
      token: b.token,
      body: { user_ids: [bFriend.id] },
    });
    expectError(res, "forbidden");
  });
});

describe("removing members and leaving", () => {
  it("the owner removes a member, who then can no longer read the group", async () => {
    const owner = await signup("owner");
    const [b, c] = [await signup("b"), await signup("c")];
    const group = await createGroup(owner, [b, c], "trim");
    const res = await api<ChannelInfo>("DELETE", `/v1/groups/${group.channel_id}/members/${c.id}`, {
      token: owner.token,
    });
    expect(res.status).toBe(200);
    expect(memberIds(res.body)).toEqual([owner.id, b.id].sort());
    expectError(await readGroup(c, group.channel_id), "not_a_member");
    expect(await myGroupIds(c)).toEqual([]);
  });

  it("a plain member cannot remove others (403 forbidden), and nobody can remove the owner", async () => {
    const owner = await signup("owner");
    const [b, c] = [await signup("b"), await signup("c")];
    const group = await createGroup(owner, [b, c], "no coups");
    const base = `/v1/groups/${group.channel_id}/members`;
    expectError(await api("DELETE", `${base}/${c.id}`, { token: b.token }), "forbidden");
    expectError(await api("DELETE", `${base}/${owner.id}`, { token: b.token }), "forbidden");
    expect(memberIds((await readGroup(owner, group.channel_id)).body)).toHaveLength(3);
  });

  it("removing someone who is not a member is 404 not_found", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const outsider = await signup("outsider");
    const group = await createGroup(owner, [b], "404");
    expectError(
      await api("DELETE", `/v1/groups/${group.channel_id}/members/${outsider.id}`, { token: owner.token }),
      "not_found",
    );
  });

  it("a member leaves: 204, the group is gone from their list and they can no longer read it", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const group = await createGroup(owner, [b], "leavable");
    expect((await api("POST", `/v1/groups/${group.channel_id}/leave`, { token: b.token })).status).toBe(204);
    expect(await myGroupIds(b)).toEqual([]);
    expectError(await readGroup(b, group.channel_id), "not_a_member");
    expect(memberIds((await readGroup(owner, group.channel_id)).body)).toEqual([owner.id]);
  });

  it("when the owner leaves, ownership passes to a remaining member, who can then manage the group", async () => {
    const owner = await signup("owner");
    const [b, c] = [await signup("b"), await signup("c")];
    const group = await createGroup(owner, [b, c], "succession");
    expect((await api("POST", `/v1/groups/${group.channel_id}/leave`, { token: owner.token })).status).toBe(
      204,
    );
    const after = (await readGroup(b, group.channel_id)).body;
    expect([b.id, c.id]).toContain(after.owner_id);
    expect(after.members.filter((m) => m.role === "owner").map((m) => m.user_id)).toEqual([after.owner_id]);
    expect(memberIds(after)).toEqual([b.id, c.id].sort());

    const heir = after.owner_id === b.id ? b : c;
    const rename = await api<ChannelInfo>("PATCH", `/v1/groups/${group.channel_id}`, {
      token: heir.token,
      body: { name: "new era" },
    });
    expect(rename.status).toBe(200);
  });

  it("leaving a group I am not in is 403 not_a_member", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const outsider = await signup("outsider");
    const group = await createGroup(owner, [b], "closed");
    expectError(
      await api("POST", `/v1/groups/${group.channel_id}/leave`, { token: outsider.token }),
      "not_a_member",
    );
  });
});

describe("the 100-member limit", () => {
  let owner: TestUser;
  let friends: TestUser[];

  beforeAll(async () => {
    owner = await signup("big");
    friends = await signupMany(100, "m");
    for (let i = 0; i < friends.length; i += 10)
      await Promise.all(friends.slice(i, i + 10).map((f) => befriend(owner, f)));
  }, 120_000);

  it("refuses to create a group of 101 (the owner and 100 others) with 409 group_full", async () => {
    const res = await api("POST", "/v1/groups", {
      token: owner.token,
      body: { name: "too big", member_ids: friends.map((f) => f.id) },
    });
    expectError(res, "group_full");
    expect(await myGroupIds(owner)).toEqual([]);
  });

  it("accepts a group of exactly 100 and refuses to add a 101st with 409 group_full", async () => {
    const [extra, leaver, ...rest] = friends as [TestUser, TestUser, ...TestUser[]];
    const ninetyNine = [leaver, ...rest];
    const created = await api<ChannelInfo>("POST", "/v1/groups", {
      token: owner.token,
      body: { name: "full house", member_ids: ninetyNine.map((f) => f.id) },
    });
    expect(created.status).toBe(201);
    expect(created.body.members).toHaveLength(100);

    const path = `/v1/groups/${created.body.channel_id}/members`;
    expectError(
      await api("POST", path, { token: owner.token, body: { user_ids: [extra.id] } }),
      "group_full",
    );
    expect((await readGroup(owner, created.body.channel_id)).body.members).toHaveLength(100);
    expectError(await readGroup(extra, created.body.channel_id), "not_a_member");

    // Once someone leaves there is room for one again.
    const left = await api("POST", `/v1/groups/${created.body.channel_id}/leave`, { token: leaver.token });
    expect(left.status).toBe(204);
    const added = await api<ChannelInfo>("POST", path, {
      token: owner.token,
      body: { user_ids: [extra.id] },
    });
    expect(added.status).toBe(200);
    expect(added.body.members).toHaveLength(100);
  });
});
