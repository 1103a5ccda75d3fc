/**
 * Bookkeeping for one measured run: when each message was sent and acknowledged, and which
 * receiving device got it when. Messages carry `client_msg_id` = `<tag>.<index>`, so a frame
 * is matched to its message by reading that one field out of the raw text; frames of other
 * runs (other tags) are ignored.
 *
 * - lost: acknowledged (product) or sent (floor) and never delivered to a device that should
 *   have it, once the run has drained;
 * - duplicate: a device got the same message more than once (on any of its sockets).
 */
import { performance } from "node:perf_hooks";

const ID_KEY = '"client_msg_id":"';

/** The client_msg_id in a frame, starting the search at `from`. */
export function msgIdOf(text, from = 0) {
  const i = text.indexOf(ID_KEY, from);
  if (i < 0) return null;
  const s = i + ID_KEY.length;
  return text.slice(s, text.indexOf('"', s));
}

/** The frame's `type`, from its first bytes (`{"v":1,"type":"…"` for the product). */
export function frameType(text) {
  const i = text.indexOf('"type":"');
  if (i < 0 || i > 12) return null;
  return text.slice(i + 8, text.indexOf('"', i + 8));
}

export class Tracker {
  /**
   * @param tag unique per run
   * @param capacity most messages the run may send
   * @param receivers how many receiving devices are tracked (indexes 0..receivers-1)
   */
  constructor(tag, capacity, receivers) {
    this.tag = tag;
    this.prefix = `${tag}.`;
    this.capacity = capacity;
    this.receivers = receivers;
    this.sent = 0;
    this.sentAt = new Float64Array(capacity).fill(Number.NaN);
    this.ackAt = new Float64Array(capacity).fill(Number.NaN);
    /** Devices that should get message i (a bit set per message would be smaller; this is simple). */
    this.expected = new Uint16Array(capacity);
    /** The sender of message i (-1: not a tracked sender). */
    this.senderOf = new Int32Array(capacity).fill(-1);
    this.selfCopies = 0;
    this.got = new Uint16Array(capacity);
    this.firstAt = new Float64Array(capacity).fill(Number.NaN);
    this.lastAt = new Float64Array(capacity).fill(Number.NaN);
    this.seen = new Uint8Array(capacity * receivers);
    this.duplicates = 0;
    this.deliveries = 0;
    this.acks = 0;
    this.errors = [];
    this.foreign = 0;
  }

  /** Index of a message id of this run, or -1. */
  indexOf(id) {
    if (id === null || !id.startsWith(this.prefix)) return -1;
    const i = Number(id.slice(this.prefix.length));
    return Number.isInteger(i) && i >= 0 && i < this.sent ? i : -1;
  }

  /**
   * Registers message i as sent now by sender `sender`, due to `expected` receivers; returns
   * its client_msg_id.
   */
  markSent(i, expected, sender = -1) {
    this.sentAt[i] = performance.now();
    this.expected[i] = expected;
    this.senderOf[i] = sender;
    if (i >= this.sent) this.sent = i + 1;
    return `${this.prefix}${i}`;
  }

  ack(id, at) {
    const i = this.indexOf(id);
    if (i < 0) return;
    if (Number.isNaN(this.ackAt[i])) {
      this.ackAt[i] = at;
      this.acks++;
    }
  }

  /** Whether message `id` was sent by `sender` (the floor's echo to its sender is its ack). */
  isFrom(id, sender) {
    const i = this.indexOf(id);
    return i >= 0 && sender >= 0 && this.senderOf[i] === sender;
  }

  /** Device `receiver` (which is sender `asSender`, or -1) got message `id` at `at`. */
  deliver(id, receiver, at, asSender = -1) {
    const i = this.indexOf(id);
    if (i < 0) {
      this.foreign++;
      return;
    }
    if (asSender >= 0 && this.senderOf[i] === asSender) {
      this.selfCopies++;
      return;
    }
    const k = i * this.receivers + receiver;
    if (this.seen[k]) {
      this.duplicates++;
      return;
    }
    this.seen[k] = 1;
    this.deliveries++;
    this.got[i]++;
    if (Number.isNaN(this.firstAt[i])) this.firstAt[i] = at;
    if (!(this.lastAt[i] >= at)) this.lastAt[i] = at;
  }

  error(text) {
    if (this.errors.length < 5) this.errors.push(text.slice(0, 300));
    else this.errors.length++;
  }

  /** True when every message in [from, to) is acknowledged (if `acks`) and fully delivered. */
  complete(from = 0, to = this.sent, acks = true) {
    for (let i = from; i < to; i++) {
      if (acks && Number.isNaN(this.ackAt[i])) return false;
      if (this.got[i] < this.expected[i]) return false;
    }
    return true;
  }

  missing(from = 0, to = this.sent) {
    let n = 0;
    for (let i = from; i < to; i++) n += this.expected[i] - Math.min(this.got[i], this.expected[i]);
    return n;
  }

  /** Latencies: send→ack, send→last expected receiver (complete messages only), send→each. */
  ackLatencies(from = 0, to = this.sent) {
    const out = [];
    for (let i = from; i < to; i++)
      if (!Number.isNaN(this.ackAt[i])) out.push(this.ackAt[i] - this.sentAt[i]);
    return out;
  }

  lastLatencies(from = 0, to = this.sent) {
    const out = [];
    for (let i = from; i < to; i++) if (this.#delivered(i)) out.push(this.lastAt[i] - this.sentAt[i]);
    return out;
  }

  /** Message i reached every receiver it should (and it should reach at least one). */
  #delivered(i) {
    return this.got[i] >= this.expected[i] && this.expected[i] > 0;
  }

  /**
   * The `n` slowest complete messages, with when they were sent as Unix ms, so that they can
   * be matched against server-side traces (docs/performance.md, "Tracing the runtime").
   */
  slowest(n = 5) {
    const rows = [];
    for (let i = 0; i < this.sent; i++) {
      if (!this.#delivered(i)) continue;
      rows.push({
        sent_at_unix_ms: Math.round((performance.timeOrigin + this.sentAt[i]) * 10) / 10,
        last_ms: Math.round((this.lastAt[i] - this.sentAt[i]) * 100) / 100,
        ack_ms: Number.isNaN(this.ackAt[i]) ? null : Math.round((this.ackAt[i] - this.sentAt[i]) * 100) / 100,
      });
    }
    return rows.sort((a, b) => b.last_ms - a.last_ms).slice(0, n);
  }

  /**
   * Lost and unacknowledged, after the drain. For the product `acks` is true: a message that
   * was never acknowledged is not "lost" (the client would resend it) but is reported.
   */
  outcome(acks) {
    let lost = 0;
    let unacked = 0;
    for (let i = 0; i < this.sent; i++) {
      const noAck = acks && Number.isNaN(this.ackAt[i]);
      if (noAck) unacked++;
      else lost += this.expected[i] - Math.min(this.got[i], this.expected[i]);
    }
    return {
      sent: this.sent,
      deliveries: this.deliveries,
      lost,
      unacked,
      duplicates: this.duplicates,
      self_copies: this.selfCopies,
      error_frames: this.errors.length,
      errors: this.errors.slice(0, 5),
    };
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const r2 = (x) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);

export function summarize(values) {
  const s = Float64Array.from(values).sort();
  return {
    n: s.length,
    p50: r2(percentile(s, 50)),
    p95: r2(percentile(s, 95)),
    p99: r2(percentile(s, 99)),
    max: r2(s.length ? s[s.length - 1] : Number.NaN),
  };
}

export function median(values) {
  const s = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return r2(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);
}

/** Per-field medians of several summaries (the headline figures of repeated runs). */
export function medianSummary(summaries) {
  const out = { reps: summaries.length };
  for (const k of ["p50", "p95", "p99", "max"]) out[k] = median(summaries.map((s) => s?.[k]));
  out.n = summaries.reduce((n, s) => n + (s?.n ?? 0), 0);
  return out;
}
