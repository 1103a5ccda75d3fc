/**
 * saturate: one group, every receiver viewing it (group.mjs sets it up), the rate raised step
 * by step (`start`, × `factor`) until a step fails: its p99 fan-out to the last receiver
 * passes `p99LimitMs`, or some of its deliveries are still missing `behindAfterMs` after the
 * step ended (the next step is already running then, so the load never pauses). The ceiling
 * then lies between the last step that passed and the one that failed; with `precision`, it is
 * bisected (geometrically) until the two are within that fraction of each other, each probe
 * after the backlog drained and a second of unmeasured load at its rate. The figure is the
 * highest rate that passed: messages/s and deliveries/s, and what stopped the climb. The same
 * stepping runs against the floor, each on a freshly booted server.
 */
import { cpuMeter, drain, paced, sendFrame } from "../lib/load.mjs";
import { sleep } from "../lib/sockets.mjs";
import { summarize, Tracker } from "../lib/tracker.mjs";
import { readStats } from "../lib/wsclient.mjs";

export function stepRates(cfg) {
  const rates = [];
  let r = cfg.start;
  for (let k = 0; k < cfg.maxSteps && r <= cfg.maxRate; k++) {
    rates.push(Math.round(r));
    r *= cfg.factor;
  }
  return rates;
}

export async function saturate(server, g, cfg, tag) {
  const rates = stepRates(cfg);
  const probes = cfg.precision
    ? Math.ceil(Math.log(Math.log(cfg.factor) / Math.log(1 + cfg.precision)) / Math.log(2)) + 1
    : 0;
  const capacity =
    rates.reduce((n, r) => n + Math.round(r * cfg.stepSeconds) + 1, 0) +
    probes * (Math.round(cfg.maxRate * (cfg.stepSeconds + 1)) + 2);
  const t = new Tracker(tag, capacity, g.receivers);
  const before = { ...g.counts };
  g.ref.tracker = t;
  const steps = [];
  let stop = null;
  let next = 0;

  const judge = (step) => {
    const missing = t.missing(step.from, step.to);
    let unacked = 0;
    for (let i = step.from; i < step.to; i++) if (Number.isNaN(t.ackAt[i])) unacked++;
    const lat = summarize(t.lastLatencies(step.from, step.to));
    let delivered = 0;
    for (let i = step.from; i < step.to; i++) delivered += Math.min(t.got[i], t.expected[i]);
    Object.assign(step, {
      fanout_to_last_ms: lat,
      missing_after_ms: missing,
      unacked_after_ms: unacked,
      deliveries_per_s: Math.round(delivered / (step.send_ms / 1000)),
    });
    // The server's CPU per delivery over the step, in µs.
    step.server_us_per_delivery = step.deliveries_per_s
      ? Math.round((step.server_cpu_pct * 10_000) / step.deliveries_per_s)
      : null;
    if (missing > 0 || unacked > 0)
      return `behind: ${missing} deliveries (and ${unacked} acks) still missing ${cfg.behindAfterMs} ms after the ${step.rate} msg/s step`;
    if (lat.p99 > cfg.p99LimitMs) return `p99 ${lat.p99} ms > ${cfg.p99LimitMs} ms at ${step.rate} msg/s`;
    return null;
  };

  /** Sends one step at `rate`; `whileSending` runs meanwhile (judging the step before). */
  const sendStep = async (rate, seconds, whileSending = async () => {}) => {
    const cpu = cpuMeter(server);
    const reads0 = { ...readStats };
    const from = next;
    const t0 = performance.now();
    let sentUntil = 0;
    const sending = paced({
      rate,
      seconds,
      first: from,
      stop: () => stop !== null,
      send: (i) => {
        const s = i % g.senders.length;
        g.beforeSend(s);
        g.senders[s].send(sendFrame(t.markSent(i, g.receivers, s)));
        g.afterSend(s);
      },
    }).then((n) => {
      sentUntil = performance.now();
      return n;
    });
    await whileSending();
    next = await sending;
    const step = { rate, from, to: next, send_ms: Math.round(sentUntil - t0), endedAt: sentUntil, ...cpu() };
    step.sent_per_s = Math.round(((step.to - step.from) / step.send_ms) * 1000);
    // Frames per TCP read at the generator: above 1, the server wrote several frames at once.
    const reads = readStats.reads - reads0.reads;
    step.frames_per_read = reads
      ? Math.round(((readStats.frames - reads0.frames) / reads) * 100) / 100
      : null;
    return step;
  };
  const judgeAfter = async (step) => {
    await sleep(Math.max(0, step.endedAt + cfg.behindAfterMs - performance.now()));
    const verdict = judge(step);
    step.passed = verdict === null;
    return verdict;
  };

  let previous = null;
  for (const rate of rates) {
    const step = await sendStep(rate, cfg.stepSeconds, async () => {
      if (previous) stop = await judgeAfter(previous);
    });
    if (stop !== null) break;
    steps.push(step);
    previous = step;
  }
  if (stop === null && previous) {
    stop = await judgeAfter(previous);
    if (stop === null) stop = `no step failed up to ${previous.rate} msg/s (the last step)`;
  }
  const climbStop = stop;
  const climbFailed = steps.find((s) => s.passed === false);
  let lo = steps.filter((s) => s.passed).at(-1)?.rate;
  let hi = climbFailed?.rate;
  const bisected = [];
  while (cfg.precision && lo && hi && hi / lo > 1 + cfg.precision) {
    const mid = Math.round(Math.sqrt(lo * hi));
    if (mid <= lo || mid >= hi) break;
    // Each probe starts from a drained server, as the floor's does.
    await drain(t, g.acks, { maxMs: 30_000, idleMs: 3_000 });
    stop = null;
    await sleep(1_000);
    await sendStep(mid, 1); // unmeasured lead-in at the probe's rate
    const probe = await sendStep(mid, cfg.stepSeconds);
    const verdict = await judgeAfter(probe);
    probe.probe = true;
    bisected.push(probe);
    if (verdict === null) lo = mid;
    else hi = mid;
  }
  stop = bisected.length ? `${climbStop}; bisected to ${lo}–${hi} msg/s` : climbStop;
  steps.push(...bisected);
  const drainMs = await drain(t, g.acks, { maxMs: 30_000, idleMs: 5_000 });
  g.ref.tracker = null;
  const passed = steps.filter((s) => s.passed);
  const best = passed.reduce((b, s) => (!b || s.rate > b.rate ? s : b), null);
  const failed = climbFailed;
  const clean = (s) => {
    const { endedAt: _e, from: _f, to: _t, ...rest } = s;
    return { ...rest, messages: s.to - s.from };
  };
  return {
    ...t.outcome(g.acks),
    drain_ms: drainMs,
    sustained_msgs_per_s: best?.rate ?? 0,
    sustained_deliveries_per_s: best?.deliveries_per_s ?? 0,
    sustained_p99_ms: best?.fanout_to_last_ms.p99 ?? null,
    stopped_by: stop,
    generator_bound: failed ? failed.generator_cpu_pct >= 90 : null,
    failed_step: failed ? clean(failed) : null,
    steps: steps.map(clean),
    delivered_on: {
      channel_socket: g.counts.channel - before.channel,
      user_socket: g.counts.user - before.user,
      gap_pages: g.counts.pages - before.pages,
    },
  };
}
