/**
 * @module observability/metrics
 * The product's metrics, written to Workers Analytics Engine (the `METRICS` dataset binding,
 * one dataset per environment in wrangler.toml). Every data point has the same layout, so one
 * SQL shape reads them all (docs/operations.md has the query and the healthy value of each):
 *
 * | column    | holds                                                           |
 * | --------- | --------------------------------------------------------------- |
 * | `index1`  | the metric's name (Analytics Engine samples per index value)    |
 * | `blob1`   | the metric's name again (readable in every query)               |
 * | `blob2`   | its label: an outcome, a limit, a transport                     |
 * | `blob3`   | a second label where the metric has one (else empty)            |
 * | `double1` | its value (a duration in ms, a count, …)                        |
 * | `double2` | a second value (else 0)                                         |
 * | `double3` | a third value (else 0)                                          |
 *
 * `writeDataPoint` is fire-and-forget: the runtime sends the point after the invocation, so a
 * caller never awaits it and the message path pays only the call ("Writes are non-blocking",
 * Cloudflare, "Write to Analytics Engine"). Locally workerd drops the points, so with
 * `METRICS_LOG = "true"` (wrangler.toml's top level: `npm start` and the workerd test tier) each
 * point is also written as a log line `{"event":"metric","metric",…}` with the same values, which
 * tests assert and `npm start` shows. The deployed environments set it to "false", and so do the
 * Node-booted Workers of the e2e tests and the benchmarks (scripts/boot-worker.mjs).
 */
import { log } from "./log.ts";

export type MetricName =
  | "send_ack"
  | "fanout_lag"
  | "resume"
  | "push"
  | "dead_letter"
  | "rate_limited"
  | "presence_wakeup"
  | "archive_seal";

export interface DataPoint {
  metric: MetricName;
  label: string;
  label2?: string;
  value: number;
  value2?: number;
  value3?: number;
}

/** The part of `AnalyticsEngineDataset` used here (tests may pass their own). */
export interface MetricsSink {
  writeDataPoint(point: AnalyticsEngineDataPoint): void;
}

export type PushMetricOutcome = "sent" | "gone" | "throttled" | "failed" | "skipped" | "refused";
export type DeadLetterOutcome = "recorded" | "retried" | "stale" | "dropped";

export class Metrics {
  readonly #sink: MetricsSink | undefined;
  readonly #toLog: boolean;

  constructor(sink: MetricsSink | undefined, toLog: boolean) {
    this.#sink = sink;
    this.#toLog = toLog;
  }

  write(p: DataPoint): void {
    const value2 = p.value2 ?? 0;
    const value3 = p.value3 ?? 0;
    try {
      this.#sink?.writeDataPoint({
        indexes: [p.metric],
        blobs: [p.metric, p.label, p.label2 ?? ""],
        doubles: [p.value, value2, value3],
      });
    } catch {
      // A metric never fails the work it measures (a malformed point is the only cause).
    }
    if (this.#toLog) {
      log.info("metric", {
        metric: p.metric,
        label: p.label,
        ...(p.label2 !== undefined && { label2: p.label2 }),
        value: p.value,
        value2,
        value3,
      });
    }
  }

  /**
   * A channel socket's `send` (or a REST post): ms from the frame's arrival to the durable ack.
   * `weight`: how many acks the point stands for (socket sends are sampled, one in 16).
   */
  sendAck(ms: number, via: "socket" | "rest", weight: number): void {
    this.write({ metric: "send_ack", label: via, value: ms, value2: weight });
  }

  /**
   * A member's user object applied a channel update: ms since its oldest message was stored, by
   * the fold it went through (`live`: 100 ms window; `offline`: 1 s; `viewing`: 5 s).
   */
  fanoutLag(ms: number, messages: number, kind: "live" | "offline" | "viewing"): void {
    this.write({ metric: "fanout_lag", label: kind, value: ms, value2: messages });
  }

  /** A user socket's `resume`: messages and channels sent, and ms from the frame to `resumed`. */
  resume(messages: number, channels: number, ms: number): void {
    this.write({ metric: "resume", label: "user_socket", value: messages, value2: channels, value3: ms });
  }

  /** One device's push attempt for a job: attempt number, and ms since the user object queued it. */
  push(outcome: PushMetricOutcome, attempts: number, sinceQueuedMs: number): void {
    this.write({ metric: "push", label: outcome, value: 1, value2: attempts, value3: sinceQueuedMs });
  }

  /** A dead letter recorded, retried, found stale on retry, or dropped by an operator. */
  deadLetter(outcome: DeadLetterOutcome, count: number, attempts = 0): void {
    this.write({ metric: "dead_letter", label: outcome, value: count, value2: attempts });
  }

  /** A refusal for rate: which limit (`messages`, `frames`, …), where (`socket`, `rest`), the wait. */
  rateLimited(limit: string, scope: "channel_socket" | "user_socket" | "rest", retryAfterMs: number): void {
    this.write({ metric: "rate_limited", label: limit, label2: scope, value: 1, value2: retryAfterMs });
  }

  /** A user object woken by its presence alarm: the status after, sockets closed, sockets alive. */
  presenceWakeup(status: string, closed: number, live: number): void {
    this.write({ metric: "presence_wakeup", label: status, value: 1, value2: closed, value3: live });
  }

  /** A segment sealed into R2 (ms, messages, compressed bytes), or a sealing run that failed. */
  archiveSeal(outcome: "sealed" | "failed", ms: number, messages = 0, bytes = 0): void {
    this.write({ metric: "archive_seal", label: outcome, value: ms, value2: messages, value3: bytes });
  }
}

/** The metrics of this environment: its dataset, and the log when `METRICS_LOG` is "true". */
export function metricsOf(env: { METRICS?: MetricsSink; METRICS_LOG?: string }): Metrics {
  return new Metrics(env.METRICS, env.METRICS_LOG === "true");
}
