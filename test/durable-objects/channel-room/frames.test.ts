/**
 * Bad input on a channel socket: every malformed frame gets a typed error and changes
 * nothing; message length is counted in code points.
 */
import { describe, expect, it } from "vitest";
import { api, connect, createGroup, signup } from "../../fixtures/api.ts";

describe("frames", () => {
  it("answers every malformed frame with a typed error and stores nothing", async () => {
    const a = await signup("a");
    const group = await createGroup(a, [await signup("b")]);
    const chan = await connect(a, group.channel_id);
    const cases: [unknown, string, string | undefined][] = [
      ["{not json", "bad_frame", undefined],
      [{ v: 1, type: "shout", id: "u1" }, "unknown_frame_type", "u1"],
      [{ v: 1, type: "resume", id: "u2", cursors: [] }, "unknown_frame_type", "u2"],
      [{ v: 1, type: "send", id: "t1", client_msg_id: 42, text: "hi" }, "bad_frame", "t1"],
      [{ v: 1, type: "send", id: "t2", client_msg_id: "x", text: ["hi"] }, "bad_frame", "t2"],
      [{ v: 2, type: "send", id: "t3", client_msg_id: "x", text: "hi" }, "bad_frame", "t3"],
      [{ v: 1, type: "send", id: "t4", client_msg_id: "x", text: "hi", extra: true }, "bad_frame", "t4"],
      [{ v: 1, type: "sync", id: "t5", after_seq: -1 }, "bad_frame", "t5"],
      [{ v: 1, type: "send", id: "t6", client_msg_id: "x", text: "   \n" }, "message_empty", "t6"],
      ["x".repeat(1_250_001), "frame_too_large", undefined],
    ];
    for (const [frame, code, ref] of cases) {
      const n = chan.of("error").length;
      chan.send(frame);
      await chan.until((s) => s.of("error").length === n + 1, 5_000, `error for ${code}`);
      const err = chan.of("error").at(-1)!;
      expect(err.code).toBe(code);
      expect(err.ref).toBe(ref);
      expect(err.message.length).toBeGreaterThan(0);
    }
    const history = await api("GET", `/v1/channels/${group.channel_id}/messages`, { token: a.token });
    expect(history.body.messages).toEqual([]);
    expect(chan.closed).toBeNull();
  });

  it("takes a 100,000-emoji message even from an ASCII-only JSON encoder", async () => {
    const a = await signup("a");
    const group = await createGroup(a, [await signup("b")]);
    const chan = await connect(a, group.channel_id);
    const escaped = "\\ud83d\\ude00".repeat(100_000);
    chan.send(`{"v":1,"type":"send","client_msg_id":"ascii","text":"${escaped}"}`);
    await chan.until((s) => s.of("ack").length === 1 || s.of("error").length === 1 || s.closed !== null);
    expect(chan.of("ack")).toHaveLength(1);
  });

  it("takes 100,000 code points of astral characters and refuses 100,001", async () => {
    const a = await signup("a");
    const group = await createGroup(a, [await signup("b")]);
    const chan = await connect(a, group.channel_id);
    const max = "😀".repeat(100_000);
    chan.send({ v: 1, type: "send", id: "ok", client_msg_id: "max", text: max });
    await chan.until((s) => s.of("ack").length === 1);
    chan.send({ v: 1, type: "send", id: "long", client_msg_id: "over", text: `${max}a` });
    await chan.until((s) => s.of("error").length === 1);
    expect(chan.of("error")[0]).toMatchObject({ code: "message_too_long", ref: "long" });
    const history = await api("GET", `/v1/channels/${group.channel_id}/messages`, { token: a.token });
    expect(history.body.messages).toHaveLength(1);
    expect([...history.body.messages[0].text].length).toBe(100_000);
    const rest = await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "r", text: `${max}😀` },
    });
    expect(rest).toMatchObject({ status: 400, body: { error: { code: "message_too_long" } } });
  });
});
