/**
 * @module observability/log
 * The one way this code writes a log line: a JSON object whose `event` names what happened
 * (`area.what`, listed in docs/operations.md "Log lines") and whose other keys come from one
 * closed set of fields (`LogFields`, the same document's field table). Workers Logs
 * (`[observability]` in wrangler.toml) indexes the keys of a JSON line, so operators filter
 * on `event`, `channel_id`, `user_id`, … without parsing text. The level is the console
 * method (`log` → info, `warn`, `error`), as Workers Logs records it.
 *
 * Never logged: message text, previews, tokens, passwords or their hashes, push endpoints
 * beyond their origin, secrets. Only ids, counts, durations and error descriptions go out, and
 * an error's text is cut before a query's parameters (drizzle appends them to a failed query's
 * message, and they may be a credential). test/workers/password-secrecy.test.ts checks the
 * lines a real session writes; test/e2e/log-schema.test.mjs checks every event name in the
 * code against the documentation.
 */

/** Every field a log line may carry besides `event`; docs/operations.md describes each. */
export interface LogFields {
  request_id?: string;
  /** Reference given to the client in an `internal` error, to find this line. */
  ref?: string;
  path?: string;
  user_id?: string;
  device_id?: string;
  channel_id?: string;
  seq?: number;
  /** The queue message's id (not a chat message: those are never logged). */
  queue_message_id?: string;
  queue?: string;
  attempts?: number;
  delay_s?: number;
  duration_ms?: number;
  count?: number;
  of?: number;
  failed?: number;
  /** A short machine-readable result (`sent`, `gone`, `stale`, …). */
  outcome?: string;
  reason?: string;
  /** What is retried or was being done (`archive`, `update of <user>`, …). */
  what?: string;
  /** The push service's origin (the full endpoint is a capability). */
  push_service?: string;
  user_ids?: string[];
  ids?: string[];
  /** Counters of a periodic job, by name (e.g. rows deleted per table). */
  counts?: Record<string, number>;
  more?: boolean;
  /** A validation failure's field paths (never the values). */
  issues?: string[];
  error?: string;
  stack?: string;
  /** An Analytics Engine data point written to the log (`event: "metric"`, see metrics.ts). */
  metric?: string;
  label?: string;
  label2?: string;
  value?: number;
  value2?: number;
  value3?: number;
}

/** The keys of `LogFields`, for the tests that hold log lines to the schema. */
export const LOG_FIELD_NAMES = [
  "request_id",
  "ref",
  "path",
  "user_id",
  "device_id",
  "channel_id",
  "seq",
  "queue_message_id",
  "queue",
  "attempts",
  "delay_s",
  "duration_ms",
  "count",
  "of",
  "failed",
  "outcome",
  "reason",
  "what",
  "push_service",
  "user_ids",
  "ids",
  "counts",
  "more",
  "issues",
  "error",
  "stack",
  "metric",
  "label",
  "label2",
  "value",
  "value2",
  "value3",
] as const satisfies readonly (keyof LogFields)[];
// Fails to compile when LogFields gains a field the list lacks.
type _EveryFieldListed =
  Exclude<keyof LogFields, (typeof LOG_FIELD_NAMES)[number]> extends never ? true : never;
const _everyFieldListed: _EveryFieldListed = true;
void _everyFieldListed;

export type LogLevel = "info" | "warn" | "error";

/** The text of an error, without the parameters drizzle appends to a failed query's message. */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const cut = text.search(/\bparams:/);
  return (cut >= 0 ? text.slice(0, cut) : text).trim().slice(0, 1_000);
}

/** A stack trace, cut the same way (the first line repeats the message). */
export function stackOf(err: unknown): string | undefined {
  if (!(err instanceof Error) || !err.stack) return undefined;
  const cut = err.stack.search(/\bparams:/);
  return cut >= 0 ? undefined : err.stack;
}

function write(level: LogLevel, event: string, fields: LogFields): void {
  const line = JSON.stringify({ event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** `log.info("push.retry", { … })`: one structured line; the event must be documented. */
export const log = {
  info: (event: string, fields: LogFields = {}) => write("info", event, fields),
  warn: (event: string, fields: LogFields = {}) => write("warn", event, fields),
  error: (event: string, fields: LogFields = {}) => write("error", event, fields),
};
