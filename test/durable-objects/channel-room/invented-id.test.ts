// No storage for invented ids (issue #17): any signed-in user can name a well-formed channel id
// that no one created, through every route that takes one. The ChannelRoom that answers must
// refuse as for a non-member, and keep no database for it.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newGroupId } from "../../../protocol/ids.ts";
import { api, signup } from "../../fixtures/api.ts";

/** Tables in the object's SQLite database (runInDurableObject constructs it if need be). */
async function tablesOf(channelId: string): Promise<string[]> {
  return runInDurableObject(env.CHANNEL_ROOM.getByName(channelId), (_room, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()
      .map((r) => r.name)
      .filter((name) => !name.startsWith("_cf_")),
  );
}

describe("an invented channel id", () => {
  it("is refused by every route as a channel one is not a member of, and creates no storage", async () => {
    const mallory = await signup("mallory");
    const id = newGroupId();
    const token = mallory.token;
    const calls = [
      api("GET", `/v1/channels/${id}`, { token }),
      api("GET", `/v1/channels/${id}/messages`, { token }),
      api("GET", `/v1/channels/${id}/receipts`, { token }),
      api("POST", `/v1/channels/${id}/messages`, { token, body: { client_msg_id: "x", text: "hi" } }),
      api("POST", `/v1/channels/${id}/read`, { token, body: { seq: 1 } }),
      api("GET", `/v1/groups/${id}`, { token }),
      api("GET", `/v1/groups/${id}/presence`, { token }),
      api("PATCH", `/v1/groups/${id}`, { token, body: { name: "mine now" } }),
      api("POST", `/v1/groups/${id}/members`, { token, body: { user_ids: [mallory.id] } }),
      api("POST", `/v1/groups/${id}/leave`, { token }),
      api("POST", "/v1/connect", { token, body: { channel_id: id } }),
    ];
    for (const res of await Promise.all(calls)) {
      expect(res.status, JSON.stringify(res.body)).toBe(403);
      expect(res.body.error.code).toBe("not_a_member");
    }
    expect(await tablesOf(id)).toEqual([]);
  });

  it("is not confused with a created channel, whose tables exist from its creation", async () => {
    const owner = await signup("owner");
    const created = await api("POST", "/v1/groups", { token: owner.token, body: { name: "real" } });
    expect(created.status).toBe(201);
    expect(await tablesOf(created.body.channel_id)).toEqual(
      expect.arrayContaining(["channel", "members", "messages"]),
    );
  });
});
