/**
 * What every scenario shares: the send frame, frame handlers that feed a Tracker, a paced
 * sender, the drain wait, and CPU readings of the generator and the server around a run.
 */
import { performance } from "node:perf_hooks";
import { seqOf } from "./client-model.mjs";
import { machineCpuMs, selfCpuMs } from "./servers.mjs";
import { sleep } from "./sockets.mjs";
import { frameType, msgIdOf } from "./tracker.mjs";

/** 100-character texts, as in every earlier measurement (docs/performance.md). */
export const TEXT = "x".repeat(100);

/**
 * The product's send frame (docs/protocol.md §6.2); the floor gets the same bytes. `text` must
 * need no JSON escaping.
 */
export function sendFrame(clientMsgId, text = TEXT) {
  return `{"v":1,"type":"send","client_msg_id":"${clientMsgId}","text":"${text}"}`;
}

/**
 * A handler for a product socket of one device. `ref.tracker` is read per frame, so sockets
 * outlive runs. `role.receiver` is the device's index among the tracked receivers (-1: none),
 * `role.sender` its index among senders (-1: none); `counts` tallies deliveries per socket kind.
 */
export function productHandler(ref, role, kind, counts, model = null) {
  return (text, at) => {
    const type = frameType(text);
    // The device's own client logic (markers, bench/lib/client-model.mjs) runs on every frame,
    // between runs too, as a real client's would.
    if (model && type === "message") model.received(seqOf(text), text.includes(model.mine));
    else if (model && type === "ack") model.received(seqOf(text), true);
    const t = ref.tracker;
    if (type === "messages") {
      const page = JSON.parse(text);
      const last = page.messages.at(-1);
      if (model && last) model.received(last.seq, last.sender_id === model.userId);
      if (!t || role.receiver < 0) return;
      // A page on a live socket: the server filled a gap (docs/protocol.md §7.2).
      counts.pages++;
      for (const m of page.messages) {
        counts[kind]++;
        t.deliver(m.client_msg_id, role.receiver, at, role.sender);
      }
      return;
    }
    if (!t) return;
    if (type === "message") {
      if (role.receiver < 0) return;
      counts[kind]++;
      t.deliver(msgIdOf(text), role.receiver, at, role.sender);
    } else if (type === "ack") {
      t.ack(msgIdOf(text), at);
    } else if (type === "error") {
      t.error(text);
    }
  };
}

/** A handler for a floor socket: its own frames coming back are its acks. */
export function floorHandler(ref, role) {
  return (text, at) => {
    const t = ref.tracker;
    if (!t) return;
    const id = msgIdOf(text);
    if (t.isFrom(id, role.sender)) t.ack(id, at);
    else if (role.receiver >= 0) t.deliver(id, role.receiver, at);
  };
}

export function deliveryCounts() {
  return { channel: 0, user: 0, floor: 0, pages: 0 };
}

/**
 * Calls `send(i)` for i = first, first+1, … at `rate` per second for `seconds`, sending every
 * message already due on each timer tick. Returns the next index. `stop()` ends it early.
 */
export async function paced({ rate, seconds, first = 0, send, stop = () => false }) {
  const count = Math.max(1, Math.round(rate * seconds));
  const start = performance.now();
  let k = 0;
  while (k < count && !stop()) {
    const due = Math.min(count, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    while (k < due) send(first + k++);
    if (k >= count) break;
    const wait = start + (k * 1000) / rate - performance.now();
    await sleep(Math.max(0, Math.min(wait, 50)));
  }
  return first + k;
}

/** Waits until `done()` or `ms` pass; returns whether it finished. */
export async function waitFor(done, ms, every = 20) {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(every);
  }
  return true;
}

/** Waits until the run is complete, or until nothing arrives for `idleMs`, at most `maxMs`. */
export async function drain(tracker, acks, { maxMs = 20_000, idleMs = 5_000 } = {}) {
  const t0 = performance.now();
  let last = -1;
  let lastChange = t0;
  while (!tracker.complete(0, tracker.sent, acks)) {
    const now = performance.now();
    if (tracker.deliveries !== last) {
      last = tracker.deliveries;
      lastChange = now;
    }
    if (now - t0 > maxMs || now - lastChange > idleMs) break;
    await sleep(25);
  }
  return Math.round(performance.now() - t0);
}

/**
 * CPU of the generator (this process), of the server, and of everything else on the machine
 * (other processes: the noise), over a stretch of wall time, in % of one core; and the steal
 * time (CPU the hypervisor gave to other guests of the host: noise no process list shows).
 */
export function cpuMeter(server) {
  const t0 = performance.now();
  const g0 = selfCpuMs();
  const s0 = server.stat().cpuMs;
  const { busyMs: m0, stealMs: st0 } = machineCpuMs();
  return () => {
    const wall = performance.now() - t0;
    const pct = (ms) => Math.round((ms / wall) * 1000) / 10;
    const g = selfCpuMs() - g0;
    const s = server.stat().cpuMs - s0;
    const now = machineCpuMs();
    const m = now.busyMs - m0;
    return {
      wall_ms: Math.round(wall),
      generator_cpu_pct: pct(g),
      server_cpu_pct: pct(s),
      others_cpu_pct: pct(Math.max(0, m - g - s)),
      steal_pct: pct(now.stealMs - st0),
    };
  };
}
