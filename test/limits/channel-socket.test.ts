// The limits of a channel socket and of sending (docs/protocol.md §10): each frame kind at its
// N+1st frame in a burst is answered by an `error` frame `rate_limited` with `retry_after_ms`
// and the frame's `ref`, changes nothing, and is taken again after the retry time; a socket
// that keeps sending after its refusals is closed with 4029 and can reconnect and resume.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChannelInfo } from "../../protocol/api.ts";
import { api, connect, createGroup, groupOfTwo, seqsOf, signup, type TestSocket } from "../fixtures/api.ts";
import { answered, call, errorsFor, expectRateLimited, rateOf, sleep } from "./helpers.ts";

const send = (s: TestSocket, n: string) =>
  s.send({ v: 1, type: "send", id: `f-${n}`, client_msg_id: n, text: `message ${n}` });

/**
 * The refusal of frame `ref`: rate_limited, with a retry time of at most `maxMs`, in whole
 * milliseconds rounded up (domain/rate-limit.ts): a third of a second may be 334 ms.
 */
function refusal(socket: TestSocket, ref: string, maxMs: number): number {
  const errors = errorsFor(socket, ref);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ code: "rate_limited", ref });
  const ms = errors[0]!.retry_after_ms!;
  expect(ms).toBeGreaterThan(0);
  expect(ms).toBeLessThanOrEqual(Math.ceil(maxMs));
  return ms;
}

async function history(token: string, channelId: string) {
  const res = await api("GET", `/v1/channels/${channelId}/messages?limit=200`, { token });
  return (res.body.messages as { client_msg_id: string; seq: number }[]).map((m) => m.client_msg_id);
}

describe("sending", () => {
  it("refuses a device's message past its burst, stores nothing, and takes it after the retry time", async () => {
    const rate = rateOf("LIMIT_SENDS_PER_DEVICE");
    const { a, b, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    const ids = Array.from({ length: rate.burst + 1 }, (_, i) => `m${i + 1}`);
    for (const id of ids) send(chan, id);
    const last = ids.at(-1)!;
    await answered(chan, `f-${last}`);

    expect(chan.of("ack").map((f) => f.client_msg_id)).toEqual(ids.slice(0, -1));
    const wait = refusal(chan, `f-${last}`, rate.periodMs / rate.burst);
    expect(await history(b.token, group.channel_id)).toEqual(ids.slice(0, -1));
    expect(chan.closed).toBeNull();

    await sleep(wait);
    chan.send({ v: 1, type: "send", id: "again", client_msg_id: last, text: `message ${last}` });
    await answered(chan, "again");
    expect(chan.of("ack").at(-1)).toMatchObject({ client_msg_id: last, seq: rate.burst + 1, ref: "again" });
  });

  it("counts a device's posts over REST and over its channel socket against one budget", async () => {
    const rate = rateOf("LIMIT_SENDS_PER_DEVICE");
    const { a, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    const ids = Array.from({ length: rate.burst }, (_, i) => `s${i + 1}`);
    for (const id of ids) send(chan, id);
    await chan.until((s) => s.of("ack").length === rate.burst, 5_000, "the burst's acks");

    const path = `/v1/channels/${group.channel_id}/messages`;
    const refused = await call("POST", path, { token: a.token, body: { client_msg_id: "rest", text: "hi" } });
    const wait = expectRateLimited(refused, rate);
    expect(await history(a.token, group.channel_id)).not.toContain("rest");

    await sleep(wait);
    const taken = await call("POST", path, { token: a.token, body: { client_msg_id: "rest", text: "hi" } });
    expect(taken.status).toBe(201);
    expect(taken.body.seq).toBe(rate.burst + 1);
  });

  it("counts a user posting into several channels at once as one user", async () => {
    const device = rateOf("LIMIT_SENDS_PER_DEVICE");
    const user = rateOf("LIMIT_SENDS_PER_USER");
    // Two channels' worth of the device's burst is more than the user's burst.
    expect(2 * device.burst).toBeGreaterThan(user.burst + (user.burst * device.periodMs) / user.periodMs);
    const a = await signup("multi");
    const b = await signup("other");
    const one = await createGroup(a, [b], "one");
    const two = (
      await api<ChannelInfo>("POST", "/v1/groups", { token: a.token, body: { name: "two", member_ids: [] } })
    ).body;
    const chanOne = await connect(a, one.channel_id);
    const chanTwo = await connect(a, two.channel_id);
    for (let i = 1; i <= device.burst; i++) send(chanOne, `one-${i}`);
    for (let i = 1; i <= device.burst; i++) send(chanTwo, `two-${i}`);
    await chanTwo.until((s) => s.of("ack").length === device.burst, 5_000, "channel two's acks");
    await chanOne.until((s) => s.of("ack").length === device.burst, 5_000, "channel one's acks");

    // Each channel tells the user's object what it stored (at once, then at most once a second).
    // Once the user object has heard of both bursts, channel two refuses the user, though what
    // it keeps itself (the device's budget and the user's there) has room: sends go one per
    // refill of both, so the refusal is the user object's, for the two channels together.
    const pause = Math.max(device.periodMs / device.burst, user.periodMs / user.burst) + 30;
    let refusedAt = -1;
    for (let i = 1; i <= 30 && refusedAt < 0; i++) {
      await sleep(pause);
      send(chanTwo, `late-${i}`);
      await answered(chanTwo, `f-late-${i}`);
      if (errorsFor(chanTwo, `f-late-${i}`).length > 0) refusedAt = i;
    }
    expect(refusedAt).toBeGreaterThan(0);
    // A burst past the user's budget is paid back by a wait that can be longer than its period.
    const wait = refusal(chanTwo, `f-late-${refusedAt}`, 10 * user.periodMs);
    expect(await history(a.token, two.channel_id)).not.toContain(`late-${refusedAt}`);

    await sleep(wait);
    send(chanTwo, "after");
    await answered(chanTwo, "f-after");
    expect(chanTwo.of("ack").at(-1)).toMatchObject({ client_msg_id: "after" });
  });
});

describe("edits, deletes and reactions", () => {
  it("refuses a device's edits and deletes past their own budget, over the socket and REST alike", async () => {
    const rate = rateOf("LIMIT_EDITS_PER_DEVICE");
    const { a, b, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    send(chan, "m1");
    await answered(chan, "f-m1");
    const edit = (n: number) =>
      chan.send({
        v: 1,
        type: "edit",
        id: `e-${n}`,
        client_msg_id: `e${n}`,
        target_seq: 1,
        text: `edit ${n}`,
      });
    for (let i = 1; i <= rate.burst; i++) edit(i);
    // A delete shares the edits' budget: the burst's next one is refused, and nothing is stored.
    chan.send({ v: 1, type: "delete", id: "d-1", client_msg_id: "d1", target_seq: 1 });
    await answered(chan, "d-1");
    expect(chan.of("ack").map((f) => f.client_msg_id)).toEqual([
      "m1",
      ...Array.from({ length: rate.burst }, (_, i) => `e${i + 1}`),
    ]);
    const wait = refusal(chan, "d-1", rate.periodMs / rate.burst);
    const path = `/v1/channels/${group.channel_id}/messages/1/edit`;
    expectRateLimited(
      await call("POST", path, { token: a.token, body: { client_msg_id: "rest", text: "x" } }),
      rate,
    );
    // Messages and reactions have budgets of their own: a burst of edits holds neither up.
    send(chan, "m2");
    chan.send({ v: 1, type: "react", id: "r-1", client_msg_id: "r1", target_seq: 1, emoji: "👍" });
    await answered(chan, "r-1");
    expect(
      chan
        .of("ack")
        .slice(-2)
        .map((f) => f.client_msg_id),
    ).toEqual(["m2", "r1"]);
    expect(await history(b.token, group.channel_id)).not.toContain("d1");

    await sleep(wait);
    chan.send({ v: 1, type: "delete", id: "d-2", client_msg_id: "d1", target_seq: 1 });
    await answered(chan, "d-2");
    expect(chan.of("ack").at(-1)).toMatchObject({ client_msg_id: "d1", ref: "d-2" });
  });

  it("refuses a device's reactions past their budget, then takes them after the retry time", async () => {
    const rate = rateOf("LIMIT_REACTIONS_PER_DEVICE");
    const { a, b, group } = await groupOfTwo();
    const chan = await connect(b, group.channel_id);
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "m1", text: "react to me" },
    });
    const react = (n: number) =>
      chan.send({
        v: 1,
        type: "react",
        id: `r-${n}`,
        client_msg_id: `r${n}`,
        target_seq: 1,
        emoji: n % 2 ? "👍" : "",
      });
    for (let i = 1; i <= rate.burst + 1; i++) react(i);
    await answered(chan, `r-${rate.burst + 1}`);
    expect(chan.of("ack")).toHaveLength(rate.burst);
    const wait = refusal(chan, `r-${rate.burst + 1}`, rate.periodMs / rate.burst);
    await sleep(wait);
    react(rate.burst + 2);
    await answered(chan, `r-${rate.burst + 2}`);
    expect(chan.of("ack").at(-1)).toMatchObject({ client_msg_id: `r${rate.burst + 2}` });
  });
});

describe("a channel socket's other frames", () => {
  it("refuses frames of any kind past the socket's budget, malformed ones included", async () => {
    const rate = rateOf("LIMIT_FRAMES_PER_SOCKET");
    const { a, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    for (let i = 1; i <= rate.burst + 1; i++) chan.send({ v: 1, type: "no_such_frame", id: `x${i}` });
    await answered(chan, `x${rate.burst + 1}`);
    expect(chan.of("error").filter((f) => f.code === "unknown_frame_type")).toHaveLength(rate.burst);
    const wait = refusal(chan, `x${rate.burst + 1}`, rate.periodMs / rate.burst);
    await sleep(wait);
    chan.send({ v: 1, type: "no_such_frame", id: "later" });
    await answered(chan, "later");
    expect(errorsFor(chan, "later")[0]?.code).toBe("unknown_frame_type");
  });

  it("refuses typing past its budget and shows nothing for it, then takes it after the retry time", async () => {
    const rate = rateOf("LIMIT_TYPING_PER_SOCKET");
    const { a, b, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    const watcher = await connect(b, group.channel_id);
    for (let i = 1; i <= rate.burst + 1; i++) chan.send({ v: 1, type: "typing", id: `t${i}` });
    await answered(chan, `t${rate.burst + 1}`);
    // Typing has no reply: only the refused one is answered.
    expect(chan.of("error")).toHaveLength(1);
    const wait = refusal(chan, `t${rate.burst + 1}`, rate.periodMs / rate.burst);
    await watcher.until((s) => s.of("typing").length > 0, 5_000, "a's indicator");
    await sleep(wait);
    chan.send({ v: 1, type: "typing", id: "later" });
    await sleep(200);
    expect(errorsFor(chan, "later")).toHaveLength(0);
  });

  it("refuses read and delivered markers past their budget without moving a marker", async () => {
    const rate = rateOf("LIMIT_MARKERS_PER_SOCKET");
    const { a, b, group } = await groupOfTwo();
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: b.token,
      body: { client_msg_id: "b1", text: "from b" },
    });
    const chan = await connect(a, group.channel_id);
    for (let i = 1; i <= rate.burst; i++) chan.send({ v: 1, type: "delivered", id: `d${i}`, seq: 0 });
    chan.send({ v: 1, type: "read", id: "read", seq: 1 });
    await answered(chan, "read");
    const wait = refusal(chan, "read", rate.periodMs / rate.burst);
    const markers = async () =>
      (await api("GET", `/v1/channels/${group.channel_id}/receipts`, { token: a.token })).body.members.find(
        (m: { user_id: string }) => m.user_id === a.id,
      );
    expect(await markers()).toMatchObject({ read_seq: 0 });

    await sleep(wait);
    chan.send({ v: 1, type: "read", id: "read-again", seq: 1 });
    await sleep(200);
    expect(errorsFor(chan, "read-again")).toHaveLength(0);
    expect(await markers()).toMatchObject({ read_seq: 1 });
  });

  it("refuses sync requests past their budget, then pages again after the retry time", async () => {
    const rate = rateOf("LIMIT_SYNCS_PER_SOCKET");
    const { a, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    for (let i = 1; i <= rate.burst + 1; i++) chan.send({ v: 1, type: "sync", id: `y${i}`, after_seq: 0 });
    await answered(chan, `y${rate.burst + 1}`);
    expect(chan.of("messages")).toHaveLength(rate.burst);
    const wait = refusal(chan, `y${rate.burst + 1}`, rate.periodMs / rate.burst);
    await sleep(wait);
    chan.send({ v: 1, type: "sync", id: "again", after_seq: 0 });
    await answered(chan, "again");
    expect(chan.of("messages").at(-1)).toMatchObject({ ref: "again", complete: true });
  });
});

describe("a socket that keeps flooding", () => {
  it("is closed with 4029 after its refusals, and reconnects to exactly what was stored", async () => {
    const sends = rateOf("LIMIT_SENDS_PER_DEVICE");
    const refusals = rateOf("LIMIT_REFUSALS_PER_SOCKET");
    const { a, b, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    const total = sends.burst + refusals.burst + 5;
    for (let i = 1; i <= total; i++) {
      try {
        send(chan, `flood-${i}`);
      } catch {
        break; // closed under our feet
      }
    }
    await chan.until((s) => s.closed !== null, 5_000, "the close");
    expect(chan.closed?.code).toBe(4029);
    const acked = chan.of("ack").map((f) => f.client_msg_id);
    expect(acked.length).toBeGreaterThanOrEqual(sends.burst);
    expect(chan.of("error").every((f) => f.code === "rate_limited")).toBe(true);

    // For a pause, no new ticket: a flooder must not reconnect at once.
    const pause = Number(env.LIMIT_FLOOD_PAUSE_MS);
    const refusedTicket = await call("POST", "/v1/connect", {
      token: a.token,
      body: { channel_id: group.channel_id },
    });
    const wait = expectRateLimited(refusedTicket, { burst: 1, periodMs: pause });
    await sleep(wait);
    // A reconnect after it catches up on exactly the messages that were acknowledged.
    const again = await connect(a, group.channel_id);
    again.send({ v: 1, type: "sync", id: "resume", after_seq: 0 });
    await answered(again, "resume");
    expect(seqsOf(again, group.channel_id)).toEqual(acked.map((_, i) => i + 1));
    expect(await history(b.token, group.channel_id)).toEqual(acked);
  });
});

describe("a user socket", () => {
  it("refuses resume requests past their budget, then resumes after the retry time", async () => {
    const rate = rateOf("LIMIT_RESUMES_PER_SOCKET");
    const a = await signup("resumer");
    const user = await connect(a);
    for (let i = 1; i <= rate.burst + 1; i++) user.send({ v: 1, type: "resume", id: `r${i}`, cursors: [] });
    await answered(user, `r${rate.burst + 1}`);
    expect(user.of("resumed")).toHaveLength(rate.burst);
    const wait = refusal(user, `r${rate.burst + 1}`, rate.periodMs / rate.burst);
    await sleep(wait);
    user.send({ v: 1, type: "resume", id: "again", cursors: [] });
    await answered(user, "again");
    expect(user.of("resumed").at(-1)).toMatchObject({ ref: "again" });
  });

  it("refuses delivered frames past the markers' budget", async () => {
    const rate = rateOf("LIMIT_MARKERS_PER_SOCKET");
    const a = await signup("acker");
    const user = await connect(a);
    for (let i = 1; i <= rate.burst + 1; i++)
      user.send({ v: 1, type: "delivered", id: `d${i}`, cursors: [] });
    await answered(user, `d${rate.burst + 1}`);
    expect(user.of("error")).toHaveLength(1);
    refusal(user, `d${rate.burst + 1}`, rate.periodMs / rate.burst);
  });
});
