// The metrics of docs/operations.md, each produced by the real path it measures. Locally the
// Analytics Engine binding drops its points, so `METRICS_LOG = "true"` (wrangler.toml's top level)
// writes each as a `{"event":"metric",…}` log line with the same values; these tests read those
// lines. One test holds the Analytics Engine layout itself (index, blobs, doubles) with a sink of
// its own, so the SQL in docs/operations.md reads what the code writes.
import { createMessageBatch, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Metrics } from "../../observability/metrics.ts";
import type { PushJob } from "../../protocol/push.ts";
import {
  consumeDeadLetters,
  consumePushBatch,
  PUSH_DEAD_LETTER_QUEUE,
  PUSH_QUEUE,
  pushConsumerDeps,
} from "../../workers/consumers/push/consumer.ts";
import { api, connect, groupOfTwo, signup } from "../fixtures/api.ts";
import { poll } from "../fixtures/poll.ts";

interface MetricLine {
  event: "metric";
  metric: string;
  label: string;
  label2?: string;
  value: number;
  value2: number;
  value3: number;
}

let lines: string[] = [];

beforeEach(() => {
  lines = [];
  for (const level of ["log", "warn", "error"] as const)
    vi.spyOn(console, level).mockImplementation(
      (...args: unknown[]) => void lines.push(args.map(String).join(" ")),
    );
});

afterEach(() => vi.restoreAllMocks());

/** The metric lines logged so far, of one metric. */
function points(metric: string): MetricLine[] {
  return lines
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { event?: string; metric?: string })
    .filter((p): p is MetricLine => p.event === "metric" && p.metric === metric);
}

function until(metric: string, check: (p: MetricLine) => boolean = () => true, ms = 10_000) {
  return poll(`a ${metric} point`, async () => points(metric).find(check), ms);
}

describe("metrics from the message path", () => {
  it("send_ack: the first socket send and one in 16 after it, weighted 16; every REST post, in ms", async () => {
    const { a, group } = await groupOfTwo();
    const socket = await connect(a, group.channel_id);
    for (let i = 1; i <= 17; i++)
      socket.send({ v: 1, type: "send", client_msg_id: `m1.${i}`, text: "hello" });
    await socket.until((s) => s.of("ack").length === 17);
    // The 1st and the 17th of 17 sends: two points, not 17.
    const socketPoints = () => points("send_ack").filter((p) => p.label === "socket");
    await poll("two socket send_ack points", async () => socketPoints().length >= 2 || undefined);
    const viaSocket = socketPoints()[0]!;
    expect(socketPoints().map((p) => p.value2)).toEqual([16, 16]);
    const res = await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "m2", text: "hello again" },
    });
    expect(res.status).toBe(201);
    const viaRest = await until("send_ack", (p) => p.label === "rest");
    expect(viaRest.value2).toBe(1);
    for (const p of [viaSocket, viaRest]) {
      expect(p.value).toBeGreaterThanOrEqual(0);
      expect(p.value).toBeLessThan(5_000);
    }
    socket.close();
  });

  it("fanout_lag: a member with no device connected is updated through the quiet fold, lag in ms", async () => {
    const { a, b, group } = await groupOfTwo();
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "lag1", text: "are you there" },
    });
    // Both members' user objects get the update; B has no device connected.
    const p = await until("fanout_lag", (x) => x.label === "offline" && x.value2 === 1);
    expect(p.value).toBeGreaterThanOrEqual(0);
    expect(b.id).toBeTruthy();
  });

  it("resume: the messages and channels a user socket's resume sent, and how long it took", async () => {
    const { a, b, group } = await groupOfTwo();
    for (let i = 1; i <= 3; i++)
      await api("POST", `/v1/channels/${group.channel_id}/messages`, {
        token: a.token,
        body: { client_msg_id: `r${i}`, text: `missed ${i}` },
      });
    // B's user object has the channel at head 3 once the quiet fold has run.
    await poll("B's copy at head 3", async () => {
      const list = await api("GET", "/v1/channels", { token: b.token });
      return list.body.channels.find((c: { head_seq: number }) => c.head_seq === 3);
    });
    const user = await connect(b);
    user.send({ v: 1, type: "resume", id: "res", cursors: [{ channel_id: group.channel_id, seq: 0 }] });
    await user.until((s) => s.of("resumed").length === 1);
    const p = await until("resume");
    expect(p).toMatchObject({ label: "user_socket", value: 3, value2: 1 });
    expect(p.value3).toBeGreaterThanOrEqual(0);
    user.close();
  });

  it("rate_limited: a refused frame names its limit and where it was refused", async () => {
    const { a, group } = await groupOfTwo();
    const socket = await connect(a, group.channel_id);
    // wrangler.toml: LIMIT_TYPING_PER_SOCKET = "10/10s" (not raised for this tier).
    for (let i = 0; i < 11; i++) socket.send({ v: 1, type: "typing" });
    await socket.until((s) => s.of("error").some((e) => e.code === "rate_limited"));
    const p = await until("rate_limited");
    expect(p).toMatchObject({ label: "typing frames", label2: "channel_socket", value: 1 });
    expect(p.value2).toBeGreaterThan(0);
    socket.close();
  });

  it("presence_wakeup: the presence alarm reports the status after the sweep and the sockets alive", async () => {
    const user = await signup("awake");
    const socket = await connect(user);
    const inbox = env.USER_INBOX.getByName(user.id);
    // The connect armed the sweep (Presence.connected); run it now instead of in 2 s.
    await poll("the presence alarm", () => runDurableObjectAlarm(inbox).then((ran) => ran || undefined));
    const p = await until("presence_wakeup");
    expect(p).toMatchObject({ label: "online", value: 1, value2: 0, value3: 1 });
    socket.close();
  });

  it("archive_seal: a full run of messages is sealed into R2, with its count and size", async () => {
    // vitest.config.ts: ARCHIVE_SEGMENT_MESSAGES = 50.
    const { a, group } = await groupOfTwo();
    const socket = await connect(a, group.channel_id);
    for (let i = 1; i <= 50; i++)
      socket.send({ v: 1, type: "send", client_msg_id: `s${i}`, text: `message number ${i}` });
    await socket.until((s) => s.of("ack").length === 50);
    const p = await until("archive_seal", (x) => x.label === "sealed");
    expect(p.value2).toBe(50);
    expect(p.value3).toBeGreaterThan(0);
    socket.close();
  });
});

describe("metrics from the push consumer", () => {
  function job(over: Partial<PushJob> = {}): PushJob {
    return {
      v: 1,
      user_id: crypto.randomUUID(),
      channel_id: crypto.randomUUID(),
      seq: 1,
      message_id: "01J0000000000000000000000",
      sender_id: crypto.randomUUID(),
      preview: null,
      badge: 1,
      queued_at: Date.now(),
      ...over,
    };
  }

  it("writes Analytics Engine points in the documented layout: index and blob1 the metric, blob2 the label", async () => {
    const written: AnalyticsEngineDataPoint[] = [];
    const metrics = new Metrics({ writeDataPoint: (p) => void written.push(p) }, false);
    const user = await signup("pushed");
    await api("PUT", "/v1/push/subscription", {
      token: user.token,
      body: {
        endpoint: "https://push.example.test/gone",
        keys: {
          p256dh: "BMw7FFdpcKBDHz_usMKYOvHElpd3kZM9kxdRTl49zzDaA4hUKQR2dwKaBUm1V3HF_nH1qToPncGUr6509bBJAQs",
          auth: "AAAAAAAAAAAAAAAAAAAAAA",
        },
      },
    });
    const queuedAt = Date.now() - 1_500;
    const batch = createMessageBatch(PUSH_QUEUE, [
      { id: "m1", timestamp: new Date(), attempts: 2, body: job({ user_id: user.id, queued_at: queuedAt }) },
    ]);
    await consumePushBatch(
      batch,
      pushConsumerDeps(env, {
        metrics,
        provider: { send: async () => ({ kind: "gone" }) },
        retryWanted: async () => true,
        settle: async () => {},
        now: () => queuedAt + 1_500,
      }),
    );
    expect(written).toEqual([{ indexes: ["push"], blobs: ["push", "gone", ""], doubles: [1, 2, 1_500] }]);
    // A Metrics of its own: nothing of this consumer's went to the log.
    expect(points("push")).toEqual([]);
  });

  it("dead_letter: a job recorded by the dead-letter consumer counts once, with its attempts", async () => {
    const dead = job();
    const batch = createMessageBatch(PUSH_DEAD_LETTER_QUEUE, [
      { id: `dl-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body: dead },
    ]);
    await consumeDeadLetters(
      batch,
      pushConsumerDeps(env, { attempts: async () => 5, settle: async () => {} }),
    );
    const p = await until("dead_letter");
    expect(p).toMatchObject({ label: "recorded", value: 1, value2: 5 });
    const row = await env.DB.prepare("SELECT attempts FROM push_failures WHERE channel_id = ?")
      .bind(dead.channel_id)
      .first();
    expect(row).toEqual({ attempts: 5 });
  });
});
