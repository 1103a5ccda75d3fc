/**
 * A block holds inside groups (issue #16, item 1): nothing of the blocker's activity (presence,
 * typing, read and delivered markers) reaches the member they blocked, on any socket or
 * endpoint, while the group's messages still flow both ways. It must hold whether the block
 * came before the group (the channel learns it when created) or after (the Worker tells every
 * channel the two share), and lifting it shows the activity again.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { MemberReceipt } from "../../../protocol/api.ts";
import {
  type ApiResponse,
  api,
  befriend,
  connect,
  signup,
  type TestSocket,
  type TestUser,
} from "../../fixtures/api.ts";

const INTERVAL_MS = Number(env.RECEIPTS_INTERVAL_MS);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything about `userId`'s activity a socket was shown. */
function activityOf(s: TestSocket, userId: string): string[] {
  const seen: string[] = [];
  for (const f of s.frames) {
    if (f.type === "presence" && f.user_id === userId) seen.push(`presence ${f.status}`);
    if (f.type === "typing" && f.users.some((u) => u.user_id === userId)) seen.push("typing");
    if (f.type === "typing_stopped" && f.user_id === userId) seen.push("typing_stopped");
    if (f.type === "receipts" && f.members.some((m: MemberReceipt) => m.user_id === userId))
      seen.push("receipts");
  }
  return seen;
}

async function block(blocker: TestUser, blocked: TestUser): Promise<void> {
  const r = await api("POST", `/v1/friends/${blocked.id}/block`, { token: blocker.token });
  expect(r.status).toBe(200);
}

async function groupOf(owner: TestUser, members: TestUser[]): Promise<string> {
  for (const m of members) await befriend(owner, m);
  const res = await api("POST", "/v1/groups", {
    token: owner.token,
    body: { name: "shared", member_ids: members.map((m) => m.id) },
  });
  expect(res.status).toBe(201);
  return res.body.channel_id;
}

describe("a block inside a group", () => {
  for (const when of ["before the group was made", "after the group was made"] as const) {
    it(`hides the blocker's presence, typing and receipts from the blocked member (blocked ${when})`, async () => {
      const [z, x, y, w] = await Promise.all(["z", "x", "y", "w"].map((p) => signup(p)));
      if (when === "before the group was made") await block(x!, y!);
      const group = await groupOf(z!, [x!, y!, w!]);
      if (when === "after the group was made") await block(x!, y!);

      const yView = await connect(y!, group);
      const wView = await connect(w!, group);
      await sleep(300); // the channel subscribes to its members' presence
      const xUser = await connect(x!);
      const xView = await connect(x!, group);
      xView.send({ v: 1, type: "typing" });
      xView.send({ v: 1, type: "send", client_msg_id: "x1", text: "hello all" });
      await yView.until((s) => s.of("message").length === 1, 5_000, "x's message at y");
      xView.send({ v: 1, type: "typing" });
      xView.send({ v: 1, type: "delivered", seq: 1 });
      xView.send({ v: 1, type: "read", seq: 1 });
      await wView.until(
        (s) => ["presence online", "typing", "receipts"].every((a) => activityOf(s, x!.id).includes(a)),
        5_000,
        "x's activity at w",
      );
      // Y's messages still reach X, and the frames Y gets say nothing about X.
      yView.send({ v: 1, type: "send", client_msg_id: "y1", text: "hi" });
      await xView.until(
        (s) => s.of("message").some((f) => f.message.sender_id === y!.id),
        5_000,
        "y's message",
      );
      xView.close();
      xUser.close();
      await wView.until((s) => activityOf(s, x!.id).includes("typing_stopped"), 5_000, "typing_stopped at w");
      await sleep(INTERVAL_MS + 200);
      expect(activityOf(yView, x!.id)).toEqual([]);
      expect(yView.of("message").map((f) => f.message.sender_id)).toContain(x!.id);

      const yReceipts = await api("GET", `/v1/channels/${group}/receipts`, { token: y!.token });
      const wReceipts = await api("GET", `/v1/channels/${group}/receipts`, { token: w!.token });
      const ids = (r: ApiResponse) => (r.body.members as MemberReceipt[]).map((m) => m.user_id);
      expect(ids(yReceipts)).not.toContain(x!.id);
      expect(ids(wReceipts)).toContain(x!.id);
      // The blocked member still shows the blocker their own activity: the block is one-way.
      expect(ids(await api("GET", `/v1/channels/${group}/receipts`, { token: x!.token }))).toContain(y!.id);
    });
  }

  it("shows the activity again once the block is lifted", async () => {
    const [z, x, y] = await Promise.all(["z", "x", "y"].map((p) => signup(p)));
    await block(x!, y!);
    const group = await groupOf(z!, [x!, y!]);
    const yView = await connect(y!, group);
    const xView = await connect(x!, group);
    xView.send({ v: 1, type: "typing" });
    await sleep(INTERVAL_MS + 200);
    expect(activityOf(yView, x!.id)).toEqual([]);

    expect((await api("DELETE", `/v1/friends/${y!.id}/block`, { token: x!.token })).status).toBe(204);
    await showsActivity(x!, xView, yView);
  });

  it("forgets the blocks of a member who left: rejoining after the block was lifted shows everything", async () => {
    const [z, x, y] = await Promise.all(["z", "x", "y"].map((p) => signup(p)));
    const group = await groupOf(z!, [x!, y!]);
    await block(x!, y!);
    expect((await api("DELETE", `/v1/groups/${group}/members/${y!.id}`, { token: z!.token })).status).toBe(
      200,
    );
    // Lifted while y is not in the group: this channel is not told, and must not need to be.
    expect((await api("DELETE", `/v1/friends/${y!.id}/block`, { token: x!.token })).status).toBe(204);
    const add = await api("POST", `/v1/groups/${group}/members`, {
      token: z!.token,
      body: { user_ids: [y!.id] },
    });
    expect(add.status).toBe(200);
    const yView = await connect(y!, group);
    const xView = await connect(x!, group);
    await showsActivity(x!, xView, yView);
  });
});

/** `y` sees `x` type and read (a message from y first, for x to read). */
async function showsActivity(x: TestUser, xView: TestSocket, yView: TestSocket): Promise<void> {
  const before = xView.of("message").length;
  yView.send({ v: 1, type: "send", client_msg_id: `y-${before}`, text: "are you there?" });
  await xView.until((s) => s.of("message").length > before, 5_000, "y's message at x");
  const seq = xView.of("message").at(-1)!.message.seq;
  xView.send({ v: 1, type: "read", seq });
  xView.send({ v: 1, type: "send", client_msg_id: `x-${seq}`, text: "yes" }); // lets x type again at once
  xView.send({ v: 1, type: "typing" });
  await yView.until(
    (s) => activityOf(s, x.id).includes("typing") && activityOf(s, x.id).includes("receipts"),
    5_000,
    "x's typing and receipts at y",
  );
}
