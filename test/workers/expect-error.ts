/**
 * The one assertion every failing request in test/workers goes through: the status that
 * belongs to the code, the `{ error: { code, message } }` envelope and nothing else (no data,
 * no stack trace).
 */
import { expect } from "vitest";
import { ERROR_STATUS, type ErrorCode } from "../../protocol/errors.ts";
import type { ApiResponse } from "../fixtures/api.ts";

export function expectError(res: ApiResponse<unknown>, code: ErrorCode, label = ""): void {
  const body = res.body as { error?: { code?: unknown; message?: unknown } };
  expect({ status: res.status, code: body.error?.code }, `${label} ${JSON.stringify(res.body)}`).toEqual({
    status: ERROR_STATUS[code],
    code,
  });
  // Only the envelope: a refusal carries no data of the resource it refused.
  expect(Object.keys(res.body as object)).toEqual(["error"]);
  expect(Object.keys(body.error ?? {}).filter((k) => k !== "details")).toEqual(["code", "message"]);
  expect(body.error?.message).toEqual(expect.stringMatching(/\S/));
  expect(JSON.stringify(res.body)).not.toMatch(/stack|\.ts:\d+|\bat async\b/i);
}
