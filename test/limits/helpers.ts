/**
 * Helpers of the limit tests. They run in the `limits` project of vitest.config.ts, whose
 * limits are small and refill within a second or two; every test reads the limit it tests from
 * `env`, so it tests the setting, whatever its value.
 */
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { parseRate, type Rate } from "../../domain/rate-limit.ts";
import type { TestSocket } from "../fixtures/api.ts";

/** A limit setting as the tests' deployment has it. */
export function rateOf(setting: keyof Env): Rate {
  return parseRate(String(env[setting]), setting);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RawResponse {
  status: number;
  retryAfter: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: the body is the value under test.
  body: any;
}

/** Calls the Worker and keeps the `Retry-After` header, which the `api` fixture drops. */
export async function call(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; address?: string } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.address) headers["cf-connecting-ip"] = opts.address;
  const res = await exports.default.fetch(`http://chat.test${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: text ? JSON.parse(text) : {},
  };
}

/**
 * A REST refusal for going too fast: 429 `rate_limited`, `Retry-After` in whole seconds and
 * `retry_after_ms` in the body, at most the limit's period. Returns `retry_after_ms`.
 */
export function expectRateLimited(res: RawResponse, rate: Rate): number {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body.error.code).toBe("rate_limited");
  const ms = res.body.error.retry_after_ms as number;
  expect(ms).toBeGreaterThan(0);
  expect(ms).toBeLessThanOrEqual(rate.periodMs);
  expect(res.retryAfter).toBe(String(Math.ceil(ms / 1000)));
  return ms;
}

/** The socket's error frames for a frame `ref`. */
export function errorsFor(socket: TestSocket, ref: string) {
  return socket.of("error").filter((f) => f.ref === ref);
}

/** Waits until the socket got an answer (ack, page, error…) to the frame with this `ref`. */
export function answered(socket: TestSocket, ref: string, ms = 5_000) {
  return socket.until((s) => s.frames.some((f) => "ref" in f && f.ref === ref), ms, `an answer to ${ref}`);
}
