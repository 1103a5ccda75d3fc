import { describe, expect, it } from "vitest";
import type { WireMessage } from "../../protocol/frames.ts";
import type { PushJob } from "../../protocol/push.ts";
import type { InboxChannel, InboxStore, PushState } from "../../storage/user/store.ts";
import { Pushes } from "./pushes.ts";

const ME = "01ME0000000000000000000000";
const THEM = "01TH0000000000000000000000";
const CH = "gr_01CH000000000000000000000A";

function msg(seq: number, sender = THEM, text = `message ${seq}`): WireMessage {
  return {
    channel_id: CH,
    seq,
    id: `id${seq}`,
    sender_id: sender,
    client_msg_id: `c${seq}`,
    text,
    ts: seq,
    msg_count: seq,
    hash: "",
  };
}

/**
 * A stand-in for the parts of the store the push rules use. The push state is kept as a copy,
 * as SQLite would: `rows` is what survives an eviction, and `restart()` makes a new `Pushes`
 * over it with nothing in memory.
 */
function setup(opts: { muted?: boolean; readSeq?: number; hide?: boolean } = {}) {
  const channel = { channelId: CH, muted: opts.muted ?? false, readSeq: opts.readSeq ?? 0 } as InboxChannel;
  const rows = new Map<string, string>();
  const store = {
    channel: (id: string) => (id === CH ? channel : null),
    hidePreviews: () => opts.hide ?? false,
    unreadChannels: () => 3,
    pushState: (id: string) => (rows.has(id) ? (JSON.parse(rows.get(id)!) as PushState) : null),
    setPushState: (id: string, s: PushState) => {
      if (s.inFlight || s.waiting) rows.set(id, JSON.stringify(s));
      else rows.delete(id);
    },
  } as unknown as InboxStore;
  const jobs: PushJob[] = [];
  const state = { online: false, enqueueFails: false };
  const make = () =>
    new Pushes({
      store,
      userId: ME,
      online: () => state.online,
      now: () => 1_000,
      enqueue: async (j) => {
        if (state.enqueueFails) throw new Error("queue unavailable");
        jobs.push(j);
      },
    });
  const t = {
    pushes: make(),
    jobs,
    state,
    channel,
    rows,
    restart: () => {
      t.pushes = make();
    },
  };
  return t;
}

describe("when to push", () => {
  it("queues one job for the newest message from someone else, with a 100-code-point preview", async () => {
    const { pushes, jobs } = setup();
    await pushes.offline(CH, [msg(1), msg(2, THEM, "😀".repeat(150)), msg(3, ME)]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      user_id: ME,
      channel_id: CH,
      seq: 2,
      message_id: "id2",
      sender_id: THEM,
      badge: 3,
    });
    expect([...(jobs[0]!.preview ?? "")].length).toBe(100);
    expect(JSON.stringify(jobs[0])).not.toContain("😀".repeat(101));
  });

  it('says "Photo" for a photo, the file\'s name for a file, and the caption after either', async () => {
    const photo = { id: "a1", kind: "image", name: "IMG_0001.jpg", type: "image/jpeg", size: 10 } as const;
    const file = { id: "a2", kind: "file", name: "minutes.pdf", type: "application/pdf", size: 10 } as const;
    const previews: (string | null)[] = [];
    for (const [attachments, text] of [
      [[photo], ""],
      [[file], ""],
      [[photo, file], "look"],
    ] as const) {
      const { pushes, jobs } = setup();
      await pushes.offline(CH, [{ ...msg(1, THEM, text), attachments: [...attachments] }]);
      previews.push(jobs[0]!.preview);
    }
    expect(previews).toEqual(["Photo", "minutes.pdf", "Photo (+1): look"]);
  });

  it("sends no preview when the user hides previews, and nothing for a muted or already-read channel", async () => {
    const hidden = setup({ hide: true });
    await hidden.pushes.offline(CH, [msg(1)]);
    expect(hidden.jobs[0]?.preview).toBeNull();
    const muted = setup({ muted: true });
    await muted.pushes.offline(CH, [msg(1)]);
    expect(muted.jobs).toEqual([]);
    const read = setup({ readSeq: 5 });
    await read.pushes.offline(CH, [msg(4), msg(5)]);
    expect(read.jobs).toEqual([]);
    const own = setup();
    await own.pushes.offline(CH, [msg(1, ME)]);
    expect(own.jobs).toEqual([]);
  });

  it("keeps one job per channel in flight and collapses a burst into the newest waiting one", async () => {
    const { pushes, jobs } = setup();
    await pushes.offline(CH, [msg(1)]);
    for (let s = 2; s <= 20; s++) await pushes.offline(CH, [msg(s)]);
    expect(jobs.map((j) => j.seq)).toEqual([1]);
    await pushes.settled(CH, 1);
    expect(jobs.map((j) => j.seq)).toEqual([1, 20]);
    await pushes.settled(CH, 20);
    expect(jobs.map((j) => j.seq)).toEqual([1, 20]);
  });

  it("checks a waiting notification again when its turn comes", async () => {
    const online = setup();
    await online.pushes.offline(CH, [msg(1)]);
    await online.pushes.offline(CH, [msg(2)]);
    online.state.online = true;
    await online.pushes.settled(CH, 1);
    expect(online.jobs.map((j) => j.seq)).toEqual([1]);

    const read = setup();
    await read.pushes.offline(CH, [msg(1)]);
    await read.pushes.offline(CH, [msg(2)]);
    read.channel.readSeq = 2;
    await read.pushes.settled(CH, 1);
    expect(read.jobs.map((j) => j.seq)).toEqual([1]);
  });

  it("keeps the in-flight job and the waiting message in storage: a restart loses neither", async () => {
    const t = setup();
    await t.pushes.offline(CH, [msg(1)]);
    await t.pushes.offline(CH, [msg(2)]);
    await t.pushes.offline(CH, [msg(3)]);
    t.restart();
    await t.pushes.offline(CH, [msg(4)]);
    expect(t.jobs.map((j) => j.seq)).toEqual([1]);
    t.restart();
    await t.pushes.settled(CH, 1);
    expect(t.jobs.map((j) => j.seq)).toEqual([1, 4]);
    t.restart();
    await t.pushes.settled(CH, 4);
    await t.pushes.settled(CH, 4);
    expect(t.jobs.map((j) => j.seq)).toEqual([1, 4]);
    expect(t.rows.size).toBe(0);
  });

  it("wants a retry only while no device is connected and the message is unread", async () => {
    const t = setup();
    await t.pushes.offline(CH, [msg(5)]);
    expect(t.pushes.retryWanted(CH, 5, 2)).toBe(true);
    t.state.online = true;
    expect(t.pushes.retryWanted(CH, 5, 3)).toBe(false);
    t.state.online = false;
    t.channel.readSeq = 5;
    expect(t.pushes.retryWanted(CH, 5, 4)).toBe(false);
    t.channel.readSeq = 0;
    t.channel.muted = true;
    expect(t.pushes.retryWanted(CH, 5, 5)).toBe(false);
    expect(t.pushes.retryWanted("gr_elsewhere", 5, 2)).toBe(false);
  });

  it("counts the attempts of the job in flight, across restarts, for the dead-letter record", async () => {
    const t = setup();
    await t.pushes.offline(CH, [msg(7)]);
    expect(t.pushes.attempts(CH, 7)).toBe(1);
    t.pushes.retryWanted(CH, 7, 2);
    t.restart();
    t.pushes.retryWanted(CH, 7, 3);
    t.pushes.retryWanted(CH, 7, 2); // a late, out-of-order report never lowers the count
    expect(t.pushes.attempts(CH, 7)).toBe(3);
    expect(t.pushes.attempts(CH, 6)).toBeNull();
  });

  it("records nothing in flight when the queue refuses the job, so the channel's resent update queues it", async () => {
    const t = setup();
    t.state.enqueueFails = true;
    await expect(t.pushes.offline(CH, [msg(1)])).rejects.toThrow("queue unavailable");
    t.state.enqueueFails = false;
    await t.pushes.offline(CH, [msg(1)]);
    expect(t.jobs.map((j) => j.seq)).toEqual([1]);
  });
});
